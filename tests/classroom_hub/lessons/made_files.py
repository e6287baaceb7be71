"""Small real PDFs and glTF models written byte by byte, for the import and page tests."""

from __future__ import annotations

import json
import struct

# One flat colour per page, so a test can tell from the rendered picture which page it is.
RED, GREEN, BLUE = (1.0, 0.0, 0.0), (0.0, 0.6, 0.0), (0.0, 0.0, 1.0)


def make_pdf(colours: list[tuple[float, float, float]], *, locked: bool = False) -> bytes:
    """A PDF with one A4-landscape page per colour, each filled with it; ``locked``: it needs a password."""
    objects: list[bytes] = []
    count = len(colours)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(count))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode())
    for i, (r, g, b) in enumerate(colours):
        content = f"{r} {g} {b} rg 0 0 842 595 re f".encode()
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 842 595] /Contents {4 + 2 * i} 0 R >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    trailer_extra = b""
    if locked:
        # The standard security handler (RC4, 40 bit) with a user password nobody knows.
        objects.append(b"<< /Filter /Standard /V 1 /R 2 /O <" + b"11" * 32 + b"> /U <" + b"22" * 32 + b"> /P -4 >>")
        trailer_extra = b" /Encrypt %d 0 R /ID [<%s> <%s>]" % (len(objects), b"33" * 16, b"33" * 16)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += (
        b"trailer\n<< /Size %d /Root 1 0 R" % (len(objects) + 1)
        + trailer_extra
        + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    )
    return bytes(out)


def make_glb(extensions_required: list[str] | None = None) -> bytes:
    """A binary glTF 2.0 holding one coloured tetrahedron (four triangles)."""
    points = [(0.0, 1.0, 0.0), (-1.0, -0.6, 0.6), (1.0, -0.6, 0.6), (0.0, -0.6, -1.0)]
    triangles = [(0, 1, 2), (0, 2, 3), (0, 3, 1), (1, 3, 2)]
    positions = b"".join(struct.pack("<3f", *points[i]) for t in triangles for i in t)
    gltf: dict[str, object] = {
        "asset": {"version": "2.0", "generator": "classroom-hub tests"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "material": 0}]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorFactor": [0.9, 0.3, 0.1, 1], "metallicFactor": 0}}],
        "buffers": [{"byteLength": len(positions)}],
        "bufferViews": [{"buffer": 0, "byteLength": len(positions), "target": 34962}],
        "accessors": [
            {
                "bufferView": 0, "componentType": 5126, "count": 12, "type": "VEC3",
                "min": [-1.0, -0.6, -1.0], "max": [1.0, 1.0, 0.6],
            }
        ],
    }  # fmt: skip
    if extensions_required:
        gltf["extensionsUsed"] = gltf["extensionsRequired"] = extensions_required
    return glb(gltf, positions)


def glb(gltf: dict[str, object], binary: bytes) -> bytes:
    text = json.dumps(gltf).encode()
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    length = 12 + 8 + len(text) + 8 + len(binary)
    return (
        struct.pack("<4sII", b"glTF", 2, length)
        + struct.pack("<I4s", len(text), b"JSON") + text
        + struct.pack("<I4s", len(binary), b"BIN\0") + binary
    )  # fmt: skip

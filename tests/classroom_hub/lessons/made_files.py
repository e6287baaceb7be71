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


# --- the sample lesson "xem-mo-hinh-phan-tu-nuoc": its model and worksheet are made here -------


def _sphere(levels: int = 1) -> tuple[list[tuple[float, float, float]], list[tuple[int, int, int]]]:
    """A unit icosphere: an icosahedron whose triangles are split ``levels`` times."""
    t = (1 + 5**0.5) / 2
    raw = [(-1, t, 0), (1, t, 0), (-1, -t, 0), (1, -t, 0), (0, -1, t), (0, 1, t),
           (0, -1, -t), (0, 1, -t), (t, 0, -1), (t, 0, 1), (-t, 0, -1), (-t, 0, 1)]  # fmt: skip
    points = [_unit(p) for p in raw]
    faces = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4), (11, 10, 2),
             (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9), (4, 9, 5),
             (2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1)]  # fmt: skip
    middle: dict[tuple[int, int], int] = {}

    def mid(a: int, b: int) -> int:
        key = (min(a, b), max(a, b))
        if key not in middle:
            points.append(_unit(tuple((points[a][k] + points[b][k]) / 2 for k in range(3))))
            middle[key] = len(points) - 1
        return middle[key]

    for _ in range(levels):
        middle.clear()

        faces = [
            face
            for a, b, c in faces
            for face in ((a, mid(a, b), mid(c, a)), (b, mid(b, c), mid(a, b)), (c, mid(c, a), mid(b, c)),
                         (mid(a, b), mid(b, c), mid(c, a)))
        ]  # fmt: skip
    return points, faces


def _unit(p: tuple[float, ...]) -> tuple[float, float, float]:
    n = sum(c * c for c in p) ** 0.5
    return (round(p[0] / n, 5), round(p[1] / n, 5), round(p[2] / n, 5))


def make_water_molecule() -> bytes:
    """H₂O as a glTF: one red oxygen sphere and two white hydrogen spheres at 104.5°."""
    points, faces = _sphere(2)
    positions = b"".join(struct.pack("<3f", *p) for p in points)
    normals = positions  # on a unit sphere the normal is the position
    indices = b"".join(struct.pack("<3H", *f) for f in faces)
    lo = [min(p[k] for p in points) for k in range(3)]
    hi = [max(p[k] for p in points) for k in range(3)]
    angle = 104.5 / 2 * 3.141592653589793 / 180
    import math

    h = [(round(math.sin(angle) * 1.4, 4), round(-math.cos(angle) * 1.4, 4), 0.0),
         (round(-math.sin(angle) * 1.4, 4), round(-math.cos(angle) * 1.4, 4), 0.0)]  # fmt: skip
    gltf: dict[str, object] = {
        "asset": {"version": "2.0", "generator": "classroom-hub made_files.py"},
        "scene": 0,
        "scenes": [{"name": "H2O", "nodes": [0, 1, 2]}],
        "nodes": [
            {"name": "O", "mesh": 0},
            {"name": "H1", "mesh": 1, "translation": list(h[0]), "scale": [0.6, 0.6, 0.6]},
            {"name": "H2", "mesh": 1, "translation": list(h[1]), "scale": [0.6, 0.6, 0.6]},
        ],
        "meshes": [
            {"name": name, "primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1}, "indices": 2, "material": i}]}
            for i, name in enumerate(("oxy", "hydro"))
        ],
        "materials": [
            {"name": "oxy", "pbrMetallicRoughness": {"baseColorFactor": [0.85, 0.1, 0.1, 1], "metallicFactor": 0,
                                                     "roughnessFactor": 0.5}},
            {"name": "hydro", "pbrMetallicRoughness": {"baseColorFactor": [0.95, 0.95, 0.95, 1], "metallicFactor": 0,
                                                       "roughnessFactor": 0.5}},
        ],
        "buffers": [{"byteLength": len(positions) * 2 + len(indices)}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": len(positions), "target": 34962},
            {"buffer": 0, "byteOffset": len(positions), "byteLength": len(normals), "target": 34962},
            {"buffer": 0, "byteOffset": 2 * len(positions), "byteLength": len(indices), "target": 34963},
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": len(points), "type": "VEC3", "min": lo, "max": hi},
            {"bufferView": 1, "componentType": 5126, "count": len(points), "type": "VEC3"},
            {"bufferView": 2, "componentType": 5123, "count": 3 * len(faces), "type": "SCALAR"},
        ],
    }  # fmt: skip
    return glb(gltf, positions + normals + indices)


def make_worksheet() -> bytes:
    """A two-page PDF worksheet: the molecule drawn flat, then three empty answer boxes."""
    page1 = (
        "1 1 1 rg 0 0 842 595 re f "
        "0.85 0.1 0.1 rg 421 330 m 421 385 376 430 321 430 c 266 430 221 385 221 330 c 221 275 266 230 321 230 c "
        "376 230 421 275 421 330 c f "
        "0.3 0.3 0.3 RG 6 w 380 260 m 470 160 l S 262 260 m 172 160 l S "
        "0.95 0.95 0.95 rg 0.3 0.3 0.3 RG 3 w 520 130 m 520 158 497 180 470 180 c 443 180 420 158 420 130 c "
        "420 102 443 80 470 80 c 497 80 520 102 520 130 c B "
        "222 130 m 222 158 199 180 172 180 c 145 180 122 158 122 130 c 122 102 145 80 172 80 c 199 80 222 102 "
        "222 130 c B "
        "BT /F1 48 Tf 0 0 0 rg 600 470 Td (H2O) Tj ET "
        "BT /F1 36 Tf 1 1 1 rg 300 318 Td (O) Tj ET BT /F1 28 Tf 0 0 0 rg 460 120 Td (H) Tj ET "
        "BT /F1 28 Tf 162 120 Td (H) Tj ET BT /F1 24 Tf 290 190 Td (104.5) Tj ET"
    )
    page2 = (
        "1 1 1 rg 0 0 842 595 re f 0.2 0.3 0.6 RG 3 w "
        + " ".join(f"60 {y} 722 120 re S" for y in (420, 260, 100))
        + " BT /F1 28 Tf 0.2 0.3 0.6 rg 60 555 Td (1.  2.  3.) Tj ET"
    )
    return _pdf_with_font([page1, page2])


def _pdf_with_font(contents: list[str]) -> bytes:
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    count = len(contents)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>")
    for i, content in enumerate(contents):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 842 595] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * i} 0 R >>".encode()
        )
        data = content.encode()
        objects.append(b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)

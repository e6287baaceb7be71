"""What a 3D model (glTF 2.0) of a ``model`` step needs, so a model that cannot show offline is
refused at import.

A ``.glb`` is one binary file (a JSON chunk, then the binary buffer); a ``.gltf`` is JSON that
refers to its buffers and textures by URI, which must be files of the package (or ``data:``
URIs). Models compressed with Draco, meshoptimizer or Basis textures need a decoder that the
viewer would fetch from the internet: the author is told to export without compression.
"""

from __future__ import annotations

import json
import struct
import urllib.parse
from typing import Any

from classroom_hub.lessons.html_slides import is_remote

_GLB_MAGIC = b"glTF"
_JSON_CHUNK = 0x4E4F534A
# Extensions whose decoder the viewer loads from a CDN: not available in an offline classroom.
NEEDS_DECODER = {
    "KHR_draco_mesh_compression": "Draco",
    "EXT_meshopt_compression": "meshoptimizer",
    "KHR_texture_basisu": "Basis Universal (KTX2)",
}


class GltfProblem(ValueError):
    """What is wrong with a model, in words for its author."""


def read_json(data: bytes, binary: bool) -> dict[str, Any]:
    """The glTF JSON of a ``.glb`` (``binary``) or ``.gltf`` file."""
    if binary:
        if len(data) < 20 or data[:4] != _GLB_MAGIC:
            raise GltfProblem("is not a binary glTF (.glb) file: it does not start with 'glTF'")
        version, length = struct.unpack_from("<II", data, 4)
        if version != 2:
            raise GltfProblem(f"is glTF version {version}; export it as glTF 2.0")
        if length > len(data):
            raise GltfProblem(f"is cut short: {len(data)} of {length} bytes")
        chunk_length, chunk_type = struct.unpack_from("<II", data, 12)
        if chunk_type != _JSON_CHUNK or 20 + chunk_length > len(data):
            raise GltfProblem("has no JSON chunk first; it is damaged")
        text = data[20 : 20 + chunk_length]
    else:
        text = data
    try:
        parsed = json.loads(text.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise GltfProblem(f"holds no valid glTF JSON: {err}") from err
    if not isinstance(parsed, dict) or not isinstance(parsed.get("asset"), dict):
        raise GltfProblem("holds no glTF 'asset' description; is it a glTF file?")
    version = str(parsed["asset"].get("version", ""))
    if not version.startswith("2."):
        raise GltfProblem(f"is glTF version {version or '?'}; export it as glTF 2.0")
    return parsed


def check_model(data: bytes, binary: bool) -> list[str]:
    """Problems of the model itself, and the package files it refers to (as written, relative to it).

    Returns the references; raises :class:`GltfProblem` for the first problem.
    """
    gltf = read_json(data, binary)
    required = [name for name in gltf.get("extensionsRequired") or [] if name in NEEDS_DECODER]
    if required:
        kinds = ", ".join(NEEDS_DECODER[name] for name in required)
        raise GltfProblem(
            f"is compressed with {kinds}, whose decoder would have to come from the internet; "
            "export it without compression"
        )
    references: list[str] = []
    for section in ("buffers", "images"):
        for i, item in enumerate(gltf.get(section) or []):
            uri = item.get("uri") if isinstance(item, dict) else None
            if not isinstance(uri, str) or uri.startswith("data:"):
                continue
            if is_remote(uri):
                raise GltfProblem(f"{section}[{i}] loads {uri!r} from the network; put the file in the package")
            references.append(urllib.parse.unquote(uri))
    return references

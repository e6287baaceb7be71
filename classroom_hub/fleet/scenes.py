"""VR/AR scene bundles the headsets fetch from the hub when one is missing from their cache.

Content-addressed: a bundle is stored as ``<data_dir>/scenes/<sha256>`` with a small
``<sha256>.json`` beside it (content id, title, size). A launch command carries the
content id, the hash and the URL ``/scenes/<sha256>``; the headset checks the hash of
what it downloads (docs/devices.md). All file I/O here is blocking: call it through an
executor.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from classroom_hub.errors import HubError
from device_drivers.headset.commands import scene_content

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
CONTENT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class SceneError(HubError):
    """A scene bundle that cannot be stored or found."""

    code = "invalid_scene"
    http_status = 400


@dataclass(frozen=True)
class Scene:
    content_id: str
    sha256: str
    size: int
    title: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def launch_args(self, base_url: str) -> dict[str, Any]:
        """The ``content`` object of a launch_scene command (the headset's protocol)."""
        return scene_content(self.content_id, self.sha256, self.size, base_url)


class SceneShelf:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def add(self, content_id: str, data: bytes, title: str = "") -> Scene:
        if not CONTENT_ID_RE.match(content_id):
            raise SceneError(f"content id {content_id!r} must match {CONTENT_ID_RE.pattern}")
        digest = hashlib.sha256(data).hexdigest()
        self.folder.mkdir(parents=True, exist_ok=True)
        scene = Scene(content_id, digest, len(data), title or content_id)
        # Written beside and renamed: a power cut leaves the whole bundle or none of it.
        for name, body in ((digest, data), (f"{digest}.json", json.dumps(scene.as_dict()).encode())):
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".incoming-")
            with os.fdopen(fd, "wb") as f:
                f.write(body)
            os.replace(tmp, self.folder / name)
        return scene

    def get(self, sha256: str) -> Scene | None:
        if not SHA256_RE.match(sha256):
            return None
        try:
            meta = json.loads((self.folder / f"{sha256}.json").read_text(encoding="utf-8"))
            return Scene(**meta)
        except (OSError, ValueError, TypeError):
            return None

    def by_content_id(self, content_id: str) -> Scene | None:
        matches = [s for s in self.list() if s.content_id == content_id]
        return matches[-1] if matches else None

    def path(self, sha256: str) -> Path | None:
        if not SHA256_RE.match(sha256):
            return None
        path = self.folder / sha256
        return path if path.is_file() else None

    def list(self) -> list[Scene]:
        if not self.folder.is_dir():
            return []
        scenes = (self.get(p.stem) for p in sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime))
        return [s for s in scenes if s is not None]

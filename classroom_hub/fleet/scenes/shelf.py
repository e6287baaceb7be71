"""The hub's scene library: VR/AR scene packages the headsets fetch from the hub.

Content-addressed: a package is stored as ``<data_dir>/scenes/<sha256>`` (the .zip exactly as
imported, so a headset checks what it downloads with one ``sha256sum``) with a small
``<sha256>.json`` record beside it (content id, scene id, titles, platform, size). A package
is written beside, synced and renamed: a power cut leaves the whole package or none of it,
and the record is written last, so a listed scene is always complete. All file I/O here is
blocking: call it through an executor.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from classroom_hub.fleet.scenes.package import MANIFEST, SceneError, check_package, problem
from device_drivers.headset.commands import scene_content

log = logging.getLogger(__name__)

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
CONTENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Scene:
    content_id: str
    sha256: str
    size: int
    title: str  # Vietnamese, the room's language
    titles: dict[str, str] = field(default_factory=dict)  # {"vi": ..., "en": ...}
    platform: str = "android-vr"
    scene_id: str = ""
    version: str = "1"
    imported_at: float = 0.0

    @property
    def scene(self) -> str:
        return self.scene_id or self.content_id

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"scene_id": self.scene}

    def launch_args(self, base_url: str | None) -> dict[str, Any]:
        """The ``content`` object of a launch_scene command (the headset's protocol)."""
        return scene_content(self.content_id, self.sha256, self.size, base_url)


class SceneShelf:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def import_package(self, source: Path | str, name: str | None = None) -> Scene:
        """Check the scene package at ``source`` (a .zip) and store it; a no-op if already stored."""
        source = Path(source)
        manifest = check_package(source, name)
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".incoming-")
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as inp:
                while chunk := inp.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha256 = digest.hexdigest()
            existing = self.get(sha256)
            if existing is not None:
                return existing
            scene = Scene(
                content_id=manifest.id,
                sha256=sha256,
                size=size,
                title=manifest.title.vi,
                titles=manifest.title.model_dump(exclude_none=True),
                platform=manifest.platform,
                scene_id=manifest.scene,
                version=manifest.version,
                imported_at=time.time(),
            )
            os.replace(tmp, self.folder / sha256)
            self._write_record(scene)
        except OSError as err:
            raise SceneError(problem(str(self.folder), "", f"cannot store {name or source.name}: {err}")) from err
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        log.info("event=scene_imported content=%s sha256=%s size=%d", scene.content_id, sha256[:12], size)
        return scene

    def add(self, content_id: str, data: bytes, title: str = "", platform: str = "android-vr") -> Scene:
        """Store a bundle as it is, without checking it as a package (tests and benches)."""
        if not CONTENT_ID_RE.match(content_id):
            raise SceneError(f"content id {content_id!r} must match {CONTENT_ID_RE.pattern}")
        digest = hashlib.sha256(data).hexdigest()
        self.folder.mkdir(parents=True, exist_ok=True)
        title = title or content_id
        scene = Scene(content_id, digest, len(data), title, {"vi": title}, platform, content_id, "1", time.time())
        _write_atomic(self.folder / digest, data)
        self._write_record(scene)
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
        return path if path.is_file() and (self.folder / f"{sha256}.json").is_file() else None

    def list(self) -> list[Scene]:
        """Every stored scene, oldest import first."""
        if not self.folder.is_dir():
            return []
        scenes = [s for p in self.folder.glob("*.json") if (s := self.get(p.stem)) is not None]
        return sorted(scenes, key=lambda s: (s.imported_at, s.content_id))

    def _write_record(self, scene: Scene) -> None:
        _write_atomic(self.folder / f"{scene.sha256}.json", json.dumps(scene.as_dict(), ensure_ascii=False).encode())


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# --- sample scenes ---------------------------------------------------------------------------

_EPOCH = (2026, 1, 1, 0, 0, 0)


def sample_folders() -> list[Path]:
    """The sample scenes shipped with the hub, as folders of text files (a glTF and scene.json)."""
    samples = Path(str(resources.files(__package__) / "samples"))
    return sorted(p for p in samples.iterdir() if (p / MANIFEST).is_file())


def build_package(folder: Path, target: Path) -> Path:
    """Zip ``folder`` into ``target`` byte for byte the same on every machine (stored, fixed
    dates, sorted names), so a sample scene's SHA-256 can be written in a sample lesson."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), _EPOCH)
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return target


def stock_shelf(shelf: SceneShelf) -> list[Scene]:
    """Import the sample scenes that are not on the shelf yet, so the sample lessons' VR steps play."""
    stocked = []
    with tempfile.TemporaryDirectory() as work:
        for folder in sample_folders():
            package = build_package(folder, Path(work) / f"{folder.name}.zip")
            stocked.append(shelf.import_package(package))
    return stocked


# --- scenes inside a lesson package ----------------------------------------------------------

LESSON_SCENES = "scenes"  # a lesson package's folder of scene packages (docs/lesson-package.md)


def import_lesson_scenes(shelf: SceneShelf, lesson_folder: Path, label: str) -> list[Scene]:
    """Store every ``scenes/*.zip`` of a stored lesson's folder; all are checked before any is
    stored, and :class:`SceneError` lists every problem (``label/scenes/x.zip: ...``)."""
    folder = lesson_folder / LESSON_SCENES
    packages = sorted(folder.glob("*.zip")) if folder.is_dir() else []
    problems: list[str] = []
    for package in packages:
        try:
            check_package(package, f"{label}/{LESSON_SCENES}/{package.name}")
        except SceneError as err:
            problems.extend(err.problems)
    if problems:
        raise SceneError(problems)
    return [shelf.import_package(p, f"{label}/{LESSON_SCENES}/{p.name}") for p in packages]

"""A scene package: one .zip a headset downloads whole, with ``scene.json`` at its root.

```json
{"id": "vinaponics.vr.aquaponics-farm-tour", "scene_id": "aquaponics-farm-tour",
 "title": {"vi": "Tham quan trang trại aquaponics", "en": "Aquaponics farm tour"},
 "platform": "android-vr", "version": "1.0"}
```

The hub checks the zip (names, sizes, compression ratio, CRCs) and the manifest, and lists
every problem as ``file: where: what`` (docs/scenes.md). It never unpacks the package: the
headset does. All of it is blocking: call it through an executor.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic_core import ErrorDetails

from classroom_hub.errors import HubError
from classroom_hub.problems import printable, where

MANIFEST = "scene.json"
PLATFORMS = ("android-vr", "android-ar", "webxr")
Platform = Literal["android-vr", "android-ar", "webxr"]
ContentId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


@dataclass(frozen=True)
class Limits:
    files: int = 5000
    package_bytes: int = 2 << 30  # the .zip itself
    manifest_bytes: int = 64 << 10
    bomb_ratio: int = 100  # for entries over 1 MiB, as lesson packages (docs/lesson-package.md)


DEFAULT_LIMITS = Limits()


def problem(file: str, where: str, what: str) -> str:
    """``file: where: what``, as the lessons' problems read."""
    return f"{file}: {where}: {what}" if where else f"{file}: {what}"


class SceneError(HubError):
    """A scene package that cannot be read, checked, stored or found; ``problems`` lists every one."""

    code = "invalid_scene"
    http_status = 400

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class Titles(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    vi: Text
    en: Text | None = None


class SceneManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: ContentId = Field(description="the content id, as lesson steps name it (content_id)")
    scene_id: ContentId | None = Field(None, description="the scene as the headset app knows it; default: id")
    title: Titles
    platform: Platform
    version: Annotated[str, StringConstraints(max_length=32)] = "1"

    @property
    def scene(self) -> str:
        return self.scene_id or self.id


def check_package(path: Path, name: str | None = None, limits: Limits = DEFAULT_LIMITS) -> SceneManifest:
    """The manifest of the scene package at ``path``; :class:`SceneError` with every problem otherwise.

    ``name`` is how problems name the file (``bai.zip/scenes/farm.zip`` inside a lesson)."""
    label = name or path.name
    try:
        size = path.stat().st_size
    except OSError as err:
        raise SceneError(problem(label, "", f"cannot read: {err.strerror or err}")) from err
    if size > limits.package_bytes:
        raise SceneError(problem(label, "", f"{size} bytes; a scene package may have {limits.package_bytes}"))
    try:
        with zipfile.ZipFile(path) as archive:
            return _check_archive(archive, label, limits)
    except zipfile.BadZipFile as err:
        raise SceneError(problem(label, "", f"not a zip file ({err})")) from err
    except OSError as err:
        raise SceneError(problem(label, "", f"cannot read: {err.strerror or err}")) from err


def _check_archive(archive: zipfile.ZipFile, label: str, limits: Limits) -> SceneManifest:
    problems: list[str] = []
    entries = archive.infolist()
    if len(entries) > limits.files:
        problems.append(problem(label, "", f"{len(entries)} files; a scene package may have {limits.files}"))
    seen: set[str] = set()
    for entry in entries:
        bad = _bad_name(entry.filename)
        if bad:
            problems.append(problem(label, printable(entry.filename), bad))
        if entry.filename in seen:
            problems.append(problem(label, printable(entry.filename), "is in the zip twice"))
        seen.add(entry.filename)
        if entry.file_size > 1 << 20 and entry.file_size > limits.bomb_ratio * max(1, entry.compress_size):
            ratio = entry.file_size // max(1, entry.compress_size)
            problems.append(problem(label, entry.filename, f"expands {ratio}:1 ({entry.file_size} bytes): "
                                       "refused as a zip bomb"))  # fmt: skip
    if problems:
        raise SceneError(problems)
    broken = archive.testzip()
    if broken is not None:
        raise SceneError(problem(label, printable(broken), "damaged (its CRC does not match)"))
    if MANIFEST not in seen:
        near = [n for n in seen if n.lower().endswith(MANIFEST)]
        hint = f" (there is {near[0]!r}; it must be at the top of the zip)" if near else ""
        raise SceneError(problem(label, "", f"no {MANIFEST}{hint}"))
    info = archive.getinfo(MANIFEST)
    file = f"{label}/{MANIFEST}"
    if info.file_size > limits.manifest_bytes:
        raise SceneError(problem(file, "", f"{info.file_size} bytes; at most {limits.manifest_bytes}"))
    raw = archive.read(MANIFEST)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise SceneError(problem(file, f"byte {err.start}", "not UTF-8")) from err
    except json.JSONDecodeError as err:
        raise SceneError(problem(file, f"line {err.lineno}, column {err.colno}", f"not valid JSON: {err.msg}")) from err
    try:
        return SceneManifest.model_validate(data)
    except ValidationError as err:
        raise SceneError([problem(file, where(e["loc"], root=""), _message(e)) for e in err.errors()]) from err


def _bad_name(name: str) -> str | None:
    if not name.isprintable():
        return "a file name with control characters"
    if name.startswith("/") or "\\" in name or (len(name) > 1 and name[1] == ":"):
        return "an absolute or Windows path; names are relative, with '/'"
    if ".." in name.split("/"):
        return f"{name!r} goes outside the package ('..')"
    return None


def _message(error: ErrorDetails) -> str:
    if error["type"] == "literal_error" and error["loc"][-1:] == ("platform",):
        return f"unknown platform {error['input']!r}; known: {', '.join(PLATFORMS)}"
    if error["type"] == "extra_forbidden":
        return "not a field of scene.json"
    return str(error["msg"]).removeprefix("Value error, ")

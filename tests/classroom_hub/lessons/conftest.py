"""Builders of lesson packages on disk, valid or broken on purpose."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import os
import zipfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from classroom_hub.lessons import sample_packages
from classroom_hub.lessons.keys import DISPLAYS, LESSONS

_rooms = itertools.count(1)

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 9"><rect width="16" height="9"/></svg>'

MINIMAL: dict[str, Any] = {
    "id": "thu-nghiem",
    "title": "Bài thử",
    "subject": "biology",
    "grade": 7,
    "language": "vi",
    "authors": ["Cô Lan"],
    "version": "1.0",
    "steps": [
        {"id": "mo-dau", "kind": "slide", "image": "slides/01.svg"},
        {
            "id": "cau-1",
            "kind": "quiz",
            "type": "single_choice",
            "prompt": "Cá thở bằng gì?",
            "choices": [{"id": "a", "text": "Mang"}, {"id": "b", "text": "Phổi"}],
            "correct": ["a"],
        },
    ],
}

WriteFolder = Callable[..., Path]


@pytest.fixture
def manifest() -> dict[str, Any]:
    """A fresh copy of a small valid manifest, to break on purpose."""
    return copy.deepcopy(MINIMAL)


@pytest.fixture
def write_folder(tmp_path: Path) -> WriteFolder:
    """Write a package folder: ``write_folder(manifest, files={"slides/01.svg": b"..."})``.

    ``manifest`` may be a dict (dumped as JSON) or raw bytes; the default files hold the slide of MINIMAL.
    """

    def write(
        manifest: dict[str, Any] | bytes, files: dict[str, bytes] | None = None, name: str = "thu-nghiem"
    ) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        data = manifest if isinstance(manifest, bytes) else json.dumps(manifest, ensure_ascii=False, indent=2).encode()
        (folder / "lesson.json").write_bytes(data)
        for rel, content in (files if files is not None else {"slides/01.svg": SVG}).items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        return folder

    return write


def _zip_folder(folder: Path, target: Path, *, top_folder: bool = False) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                rel = path.relative_to(folder).as_posix()
                archive.write(path, f"{folder.name}/{rel}" if top_folder else rel)
    return target


@pytest.fixture
def zip_folder() -> Callable[..., Path]:
    """``zip_folder(folder, target, top_folder=False)``: zip it the way a teacher's computer would."""
    return _zip_folder


@pytest.fixture
def samples() -> dict[str, Path]:
    return {path.name: path for path in sample_packages()}


async def pair_display(hub: Any, session: aiohttp.ClientSession, name: str = "Màn hình 86 inch") -> dict[str, Any]:
    """Pair ``session`` (its cookie jar must take cookies from an IP address) as the room's display,
    the way the display page does with a code made on the technician console."""
    code = await asyncio.get_running_loop().run_in_executor(None, hub.app[DISPLAYS].new_code, name, "kythuat")
    async with session.post(f"{hub.url}/api/display/pair", json={"code": code.code}) as response:
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
    return answer


@contextlib.asynccontextmanager
async def teaching(tmp_path: Path, broker_url: str, devices: list[dict[str, Any]], package: Path,
                   lesson_id: str) -> AsyncIterator[Any]:  # fmt: skip
    """A hub of the demo school with ``devices`` in its room file and the lesson in ``package``
    launched for class 7A by a teacher connected over the lesson WebSocket:
    ``(hub, teacher, settings, the teacher's password)``."""
    from classroom_hub.lessons.simulator import LessonClient
    from tests.conftest import add_user, room_settings, run_hub

    room = {"school_code": "THCS-DEMO", "id": f"lop-{os.getpid()}-{next(_rooms)}", "name": "Lớp 7A"}
    settings = room_settings(tmp_path, broker_url, room=room, devices=devices)
    async with run_hub(settings) as hub:
        await asyncio.to_thread(hub.app[LESSONS].library.import_package, package)
        password = await add_user(hub, "co-lan", "teacher")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            form = {"username": "co-lan", "password": password}
            async with http.post(f"{hub.url}/login", data=form, allow_redirects=False) as response:
                assert response.status == 302
            teacher = LessonClient(http, hub.url, role="teacher")
            await teacher.connect()
            try:
                await teacher.command("launch", lesson=lesson_id, **{"class": "khtn-7a"})
                await teacher.wait(lambda c: c.state.get("step", {}).get("index") == 0)
                yield hub, teacher, settings, password
            finally:
                await teacher.close()


def headsets_done(client: Any, command: str, count: int = 1) -> bool:
    """The teacher has heard ``count`` finished ``command``s to the headsets or AR devices."""
    return sum(1 for m in client.headsets if m["command"] == command and m["state"] == "done") >= count

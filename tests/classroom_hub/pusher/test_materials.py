"""Lesson packages from a materials bank (our HTTP API, served here by aiohttp): resumable, verified."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
from aiohttp import web

from classroom_hub.lessons import LessonLibrary, sample_packages
from classroom_hub.pusher.errors import MaterialsError
from classroom_hub.pusher.materials import Material, MaterialsBank, lesson_zip

TOKEN = "bank-token-7a"


@dataclass
class Bank:
    """The materials bank as docs/central-database.md describes it, with a switch to break downloads."""

    folder: Path
    url: str = ""
    items: dict[str, dict[str, object]] = field(default_factory=dict)
    cut_after: int | None = None  # the next download stops after this many bytes
    ranges: list[str | None] = field(default_factory=list)
    submitted: dict[str, bytes] = field(default_factory=dict)

    def publish(self, package: Path, title: str, *, corrupt: bool = False) -> str:
        data = package.read_bytes()
        content_hash = hashlib.sha256(data).hexdigest()
        (self.folder / content_hash).write_bytes(data[:-1] + b"!" if corrupt else data)
        self.items[content_hash] = {"content_hash": content_hash, "title": title, "size_bytes": len(data),
                                    "status": "published", "grades": ["10"], "subjects": ["Vật lý"]}  # fmt: skip
        return content_hash

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/api/v1/materials", self._list)
        app.router.add_get("/api/v1/materials/{hash}", self._get)
        app.router.add_post("/api/v1/materials", self._submit)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: object) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": "unauthorized"}, status=401)
        return await handler(request)  # type: ignore[operator,no-any-return]

    async def _list(self, request: web.Request) -> web.Response:
        assert request.query["school"] == "THCS-DEMO"
        return web.json_response({"materials": list(self.items.values())})

    async def _get(self, request: web.Request) -> web.StreamResponse:
        path = self.folder / request.match_info["hash"]
        self.ranges.append(request.headers.get("Range"))
        if self.cut_after is not None:  # send the headers and part of the body, then drop the line
            cut, self.cut_after = self.cut_after, None
            data = path.read_bytes()
            response = web.StreamResponse(headers={"Content-Length": str(len(data))})
            await response.prepare(request)
            await response.write(data[:cut])
            await asyncio.sleep(0.2)  # the line stalls, then drops
            assert request.transport is not None
            request.transport.close()
            return response
        return web.FileResponse(path)  # answers Range requests with 206

    async def _submit(self, request: web.Request) -> web.Response:
        data = await request.read()
        content_hash = hashlib.sha256(data).hexdigest()
        if request.headers.get("X-Content-SHA256") != content_hash:
            return web.json_response({"error": "X-Content-SHA256 does not match the body"}, status=400)
        status = 200 if content_hash in self.submitted else 201
        self.submitted[content_hash] = data
        return web.json_response({"content_hash": content_hash, "status": "submitted"}, status=status)


B = TypeVar("B", bound=Bank)


@contextlib.asynccontextmanager
async def serving(server: B) -> AsyncIterator[B]:
    """A bank server on a free local port; ``server.url`` is its API root."""
    server.folder.mkdir()
    runner = web.AppRunner(server.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/v1"
    try:
        yield server
    finally:
        await runner.cleanup()


@pytest.fixture
async def bank(tmp_path: Path) -> AsyncIterator[Bank]:
    async with serving(Bank(tmp_path / "bank")) as server:
        yield server


@pytest.fixture
def packages(tmp_path: Path) -> list[Path]:
    return [lesson_zip(folder, tmp_path / f"{folder.name}.zip") for folder in sample_packages()]


def _client(bank: Bank, tmp_path: Path, token: str = TOKEN) -> MaterialsBank:
    return MaterialsBank(bank.url, tmp_path / "hub" / "materials", LessonLibrary(tmp_path / "hub" / "lessons"),
                         token=token)  # fmt: skip


async def test_sync_fetches_new_packages_into_the_library_once(
    bank: Bank, packages: list[Path], tmp_path: Path
) -> None:
    hashes = [bank.publish(p, p.stem) for p in packages]
    async with _client(bank, tmp_path) as client:
        report = await client.sync("THCS-DEMO")
        again = await client.sync("THCS-DEMO")
    assert report.listed == len(packages) and len(report.fetched) == len(packages) and not report.failed
    assert again.already == len(packages) and again.fetched == []
    library = LessonLibrary(tmp_path / "hub" / "lessons")
    assert sorted(r.id for r in library.list()) == sorted(report.fetched)
    index = json.loads((tmp_path / "hub" / "materials" / "index.json").read_text())
    assert set(index) == set(hashes)


async def test_an_interrupted_download_resumes_where_it_stopped(
    bank: Bank, packages: list[Path], tmp_path: Path
) -> None:
    content_hash = bank.publish(packages[0], "Chuyển động thẳng")
    size = packages[0].stat().st_size
    bank.cut_after = size // 3
    async with _client(bank, tmp_path) as client:
        (material,) = await client.list("THCS-DEMO")
        with pytest.raises(MaterialsError, match="interrupted"):
            await client.fetch(material)
        part = tmp_path / "hub" / "materials" / ".partial" / f"{content_hash}.part"
        assert part.stat().st_size == size // 3
        fetched = await client.fetch(material)
        assert hashlib.sha256(fetched.read_bytes()).hexdigest() == content_hash
        lesson_id = await client.install(material, fetched)
    assert bank.ranges == [None, f"bytes={size // 3}-"]
    assert LessonLibrary(tmp_path / "hub" / "lessons").open(lesson_id).record.id == lesson_id


async def test_bytes_that_do_not_match_the_hash_are_thrown_away(
    bank: Bank, packages: list[Path], tmp_path: Path
) -> None:
    bank.publish(packages[0], "Hỏng", corrupt=True)
    async with _client(bank, tmp_path) as client:
        report = await client.sync("THCS-DEMO")
    (reason,) = report.failed.values()
    assert "hash to" in reason and "discarded" in reason
    assert list((tmp_path / "hub" / "materials" / ".partial").iterdir()) == []
    assert LessonLibrary(tmp_path / "hub" / "lessons").list() == []


async def test_a_teacher_lesson_is_submitted_with_its_hash(bank: Bank, packages: list[Path], tmp_path: Path) -> None:
    async with _client(bank, tmp_path) as client:
        answer = await client.submit(packages[1], title="Vòng tuần hoàn nước", submitted_by="gv-01",
                                     school_code="THCS-DEMO")  # fmt: skip
    assert answer["status"] == "submitted"
    assert bank.submitted[answer["content_hash"]] == packages[1].read_bytes()


async def test_a_wrong_token_is_a_clear_error(bank: Bank, tmp_path: Path) -> None:
    async with _client(bank, tmp_path, token="sai") as client:
        with pytest.raises(MaterialsError, match="answered 401"):
            await client.list("THCS-DEMO")


def test_the_same_lesson_always_zips_to_the_same_bytes(tmp_path: Path) -> None:
    folder = sample_packages()[0]
    first = lesson_zip(folder, tmp_path / "a.zip").read_bytes()
    assert lesson_zip(folder, tmp_path / "b.zip").read_bytes() == first


def test_a_listing_entry_is_checked() -> None:
    with pytest.raises(ValueError, match="content_hash"):
        Material.model_validate({"content_hash": "abc", "title": "x", "size_bytes": 1})


async def test_a_package_with_a_scene_puts_the_scene_in_the_library_and_a_bad_scene_stores_nothing(
    bank: Bank, tmp_path: Path
) -> None:
    import shutil

    from classroom_hub.fleet.scenes.shelf import SceneShelf
    from tests.classroom_hub.fleet.test_scene_packages import MANIFEST, scene_zip

    lesson = tmp_path / "lesson"
    shutil.copytree(sample_packages()[-1], lesson)
    (lesson / "scenes").mkdir()
    farm = scene_zip(lesson / "scenes" / "farm.zip", {**MANIFEST, "id": "vinaponics.vr.farm"})
    good = bank.publish(lesson_zip(lesson, tmp_path / "good.zip"), "Bài có cảnh VR")
    other = tmp_path / "other"  # another lesson, whose scene has no Vietnamese title
    shutil.copytree(sample_packages()[0], other)
    (other / "scenes").mkdir()
    scene_zip(other / "scenes" / "pond.zip", {**MANIFEST, "id": "vinaponics.vr.pond", "title": {"en": "Pond"}})
    bad = bank.publish(lesson_zip(other, tmp_path / "bad.zip"), "Cảnh hỏng")
    shelf = SceneShelf(tmp_path / "hub" / "scenes")
    client = MaterialsBank(bank.url, tmp_path / "hub" / "materials", LessonLibrary(tmp_path / "hub" / "lessons"),
                           shelf=shelf, token=TOKEN)  # fmt: skip
    async with client:
        report = await client.sync("THCS-DEMO")
        again = await client.sync("THCS-DEMO")

    (scene,) = shelf.list()
    assert scene.content_id == "vinaponics.vr.farm" and scene.titles["vi"] == "Vòng tuần hoàn nước"
    assert scene.sha256 == hashlib.sha256(farm.read_bytes()).hexdigest()
    lesson_id = json.loads((lesson / "lesson.json").read_text(encoding="utf-8"))["id"]
    other_id = json.loads((other / "lesson.json").read_text(encoding="utf-8"))["id"]
    assert report.fetched == [lesson_id] and set(report.failed) == {bad}
    assert f"{other_id}/scenes/pond.zip/scene.json: title.vi" in report.failed[bad]
    assert [r.id for r in LessonLibrary(tmp_path / "hub" / "lessons").list()] == [lesson_id]  # all or nothing
    assert again.already == 1 and set(again.failed) == {bad}  # still refused while the bank lists it
    index = json.loads((tmp_path / "hub" / "materials" / "index.json").read_text())
    assert index[good]["scenes"] == [scene.sha256]


async def test_a_bad_entry_in_the_listing_is_named_and_the_good_ones_are_fetched(
    bank: Bank, packages: list[Path], tmp_path: Path
) -> None:
    good = bank.publish(packages[0], "Bài tốt")
    bank.items["bad"] = {"content_hash": "not-a-hash", "title": "Bài lạ", "size_bytes": -1}
    async with _client(bank, tmp_path) as client:
        report = await client.sync("THCS-DEMO")
    assert len(report.fetched) == 1 and good in json.loads((tmp_path / "hub" / "materials" / "index.json").read_text())
    reason = report.failed["materials[1]"]
    assert "an entry the hub cannot use" in reason and "content_hash" in reason and "size_bytes" in reason

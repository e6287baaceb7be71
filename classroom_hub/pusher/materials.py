"""Lesson packages from the central materials bank, fetched by content hash; teachers' lessons and
recorded lectures sent back.

The bank's HTTP API is ours (docs/central-database.md, section "The materials bank API").
A package is fetched to ``<data_dir>/materials/.partial/<hash>.part``; an interrupted
download resumes with ``Range: bytes=<have>-``; the whole file must hash (SHA-256) to the
content hash it was listed under, or it is thrown away. Only then is it imported into the
lesson library, which checks the package itself, and the scene packages it carries
(``scenes/*.zip``) into the scene library, all or nothing; ``index.json`` remembers which bank
hash became which lesson, so nothing is fetched twice.

Large files (the studio's lectures) go up resumably: ``PUT /uploads/<sha256>`` says what
is coming and answers how much the bank already holds, ``PATCH`` appends chunks from that
offset, and the bank hashes the whole file when the last byte is in (:meth:`MaterialsBank.upload`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import time
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from classroom_hub.fleet.scenes.package import SceneError
from classroom_hub.fleet.scenes.shelf import Scene, SceneShelf, import_lesson_scenes
from classroom_hub.lessons import LessonLibrary, LessonRecord
from classroom_hub.lessons.errors import LessonError
from classroom_hub.problems import describe
from classroom_hub.pusher.errors import MaterialsError
from classroom_hub.pusher.privacy import mask_personal

log = logging.getLogger(__name__)
T = TypeVar("T")

_CHUNK = 256 * 1024
_ATTEMPTS = 3


class Material(BaseModel):
    """One entry of the bank's listing (unknown fields are ignored: the bank may add some)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    content_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    title: str
    kind: str = "lesson_package"
    media_type: str = "application/zip"
    size_bytes: int = Field(ge=0)
    language: str = "vi"
    grades: list[str] = Field(default_factory=list)
    subjects: list[str] = Field(default_factory=list)
    status: str = "published"
    updated_at: str | None = None


@dataclass(frozen=True)
class Upload:
    """The bank's view of an upload: how many bytes it holds and, once complete, its own hash."""

    sha256: str
    size_bytes: int
    offset: int
    status: str  # receiving | complete
    remote_id: str | None = None


class UploadMismatch(MaterialsError):
    """The bank hashed the whole file to something else; it discarded the bytes (offset 0 again)."""

    def __init__(self, message: str, remote_sha256: str) -> None:
        super().__init__(message)
        self.remote_sha256 = remote_sha256


@dataclass
class SyncReport:
    listed: int = 0
    fetched: list[str] = field(default_factory=list)  # lesson ids imported now
    already: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # content hash (or materials[i]: a bad entry) -> reason


class MaterialsBank:
    """A client of the bank; use as ``async with MaterialsBank(...) as bank:``."""

    def __init__(
        self,
        base_url: str,
        folder: Path,
        library: LessonLibrary,
        *,
        shelf: SceneShelf | None = None,
        token: str | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.folder = folder
        self.library = library
        self.shelf = shelf  # where the scenes a package carries go (None: the lesson only)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout_s, sock_read=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self.listing_problems: dict[str, str] = {}  # entries of the last listing that were not usable

    async def __aenter__(self) -> MaterialsBank:
        self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise MaterialsError("use the materials bank inside `async with`")
        return self._session

    async def _blocking(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fn)

    # --- listing ----------------------------------------------------------------------

    async def list(self, school_code: str) -> list[Material]:
        url = f"{self.base_url}/materials"
        try:
            async with self.session.get(url, params={"school": school_code}) as response:
                if response.status != 200:
                    raise MaterialsError(f"{url}: the bank answered {response.status}: {await _short(response)}")
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise MaterialsError(f"{url}: {type(err).__name__}: {err}") from err
        entries = body.get("materials") if isinstance(body, dict) else None
        if not isinstance(entries, list):
            raise MaterialsError(f"{url}: the answer has no 'materials' list")
        out = []
        self.listing_problems = {}
        for index, entry in enumerate(entries):
            try:
                out.append(Material.model_validate(entry))
            except ValidationError as err:  # the others are still fetched; the alarm names this one
                where = f"materials[{index}]"
                problems = describe(err, root="entry", limit=3)
                self.listing_problems[where] = f"{url}: {where}, an entry the hub cannot use: {problems}"
                log.warning("event=materials_bad_entry index=%d error=%r", index, self.listing_problems[where])
        return out

    # --- fetching ---------------------------------------------------------------------

    def index(self) -> dict[str, Any]:
        path = self.folder / "index.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:
            raise MaterialsError(f"{path} is damaged ({err}); remove it to fetch everything again") from err
        return data if isinstance(data, dict) else {}

    def _note(self, content_hash: str, entry: dict[str, Any]) -> None:
        data = self.index()
        data[content_hash] = entry
        path = self.folder / "index.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)

    async def fetch(self, material: Material, progress: Callable[[int, int], None] | None = None) -> Path:
        """Download (or resume) the package and verify its hash; returns the verified file."""
        partial = self.folder / ".partial"
        await self._blocking(lambda: partial.mkdir(parents=True, exist_ok=True))
        part = partial / f"{material.content_hash}.part"
        have = await self._blocking(lambda: part.stat().st_size if part.exists() else 0)
        if have > material.size_bytes:
            have = 0
        digest = hashlib.sha256()
        if have:
            await self._blocking(lambda: _hash_file(part, digest))
        url = f"{self.base_url}/materials/{material.content_hash}"
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            async with self.session.get(url, headers=headers) as response:
                if response.status == 416 and have == material.size_bytes:
                    pass  # everything was already there
                elif response.status == 206 and response.headers.get("Content-Range", "").startswith(f"bytes {have}-"):
                    await self._receive(response, part, "ab", have, digest, material.size_bytes, progress)
                elif response.status == 200:  # no range support (or a new file): from the start
                    digest = hashlib.sha256()
                    await self._receive(response, part, "wb", 0, digest, material.size_bytes, progress)
                else:
                    raise MaterialsError(f"{url}: the bank answered {response.status}: {await _short(response)}")
        except (aiohttp.ClientError, TimeoutError) as err:
            raise MaterialsError(f"{url}: download interrupted ({type(err).__name__}: {err}); it will resume") from err
        if digest.hexdigest() != material.content_hash:
            await self._blocking(part.unlink)
            raise MaterialsError(
                f"{material.title!r}: the bytes received hash to {digest.hexdigest()[:12]}..., not "
                f"{material.content_hash[:12]}...: discarded, it will be fetched again"
            )
        return part

    async def _receive(
        self,
        response: aiohttp.ClientResponse,
        part: Path,
        mode: str,
        have: int,
        digest: Any,
        size: int,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        handle = await self._blocking(lambda: open(part, mode))  # noqa: SIM115 - closed below
        try:
            async for chunk in response.content.iter_any():  # what arrived, even if the line drops next
                have += len(chunk)
                if have > size:
                    raise MaterialsError(f"{part.name}: the bank sent more than the {size} bytes it listed")
                digest.update(chunk)
                await self._blocking(lambda c=chunk: handle.write(c))  # type: ignore[misc]
                if progress is not None:
                    progress(have, size)
        finally:
            await self._blocking(handle.close)

    async def install(self, material: Material, package: Path) -> str:
        """Import a verified package into the lesson library, with the scene packages it carries
        (``scenes/*.zip``) into the scene library, all or nothing as ``classroom-hub lessons
        import`` does; returns the lesson id."""
        target = package.with_name(f"{material.content_hash}.zip")
        await self._blocking(lambda: os.replace(package, target))
        try:
            record, scenes = await self._blocking(lambda: self._import(target))
        except (LessonError, SceneError) as err:
            reason = mask_personal("; ".join(str(p) for p in err.problems))[:500]
            refused = {"refused": reason, "title": material.title}
            await self._blocking(lambda: self._note(material.content_hash, refused))
            raise MaterialsError(f"{material.title!r} is not a valid lesson package: {reason}") from err
        finally:
            await self._blocking(lambda: target.unlink(missing_ok=True))
        entry = {"lesson_id": record.id, "lesson_hash": record.hash, "title": material.title, "fetched_at": time.time(),
                 "scenes": [scene.sha256 for scene in scenes]}  # fmt: skip
        await self._blocking(lambda: self._note(material.content_hash, entry))
        return record.id

    def _import(self, package: Path) -> tuple[LessonRecord, tuple[Scene, ...]]:
        stored_before = {r.hash for r in self.library.list()}
        record = self.library.import_package(package)
        if self.shelf is None:
            return record, ()
        try:
            return record, tuple(import_lesson_scenes(self.shelf, self.library.open(record.hash).folder, record.id))
        except SceneError:
            if record.hash not in stored_before:  # a lesson whose scenes cannot be stored is not stored either
                self.library.remove(record.hash)
            raise

    async def sync(self, school_code: str) -> SyncReport:
        """List the bank and fetch every published package the hub does not have yet."""
        report = SyncReport()
        materials = [m for m in await self.list(school_code) if m.status == "published"]
        report.listed = len(materials)
        report.failed.update(self.listing_problems)
        known = await self._blocking(self.index)
        for material in materials:
            noted = known.get(material.content_hash)
            if isinstance(noted, dict) and "refused" in noted:  # refused while the bank still lists it
                reason = f"{material.title!r} is not a valid lesson package: {noted['refused']}"
                report.failed[material.content_hash] = reason
                continue
            if noted is not None:
                report.already += 1
                continue
            for attempt in range(1, _ATTEMPTS + 1):
                try:
                    package = await self.fetch(material)
                    report.fetched.append(await self.install(material, package))
                    break
                except MaterialsError as err:
                    if attempt == _ATTEMPTS or "not a valid lesson package" in str(err):
                        report.failed[material.content_hash] = str(err)
                        log.warning("event=materials_fetch_failed hash=%s error=%r",
                                    material.content_hash[:12], str(err))  # fmt: skip
                        break
        log.info("event=materials_synced listed=%d fetched=%d already=%d failed=%d",
                 report.listed, len(report.fetched), report.already, len(report.failed))  # fmt: skip
        return report

    # --- sending back -----------------------------------------------------------------

    async def submit(self, package: Path, *, title: str, submitted_by: str | None, school_code: str) -> dict[str, Any]:
        """Send a teacher-made lesson package (a .zip) to the bank for review."""
        data = await self._blocking(package.read_bytes)
        content_hash = hashlib.sha256(data).hexdigest()
        url = f"{self.base_url}/materials"
        params = {"title": title, "school": school_code}
        if submitted_by:
            params["submitted_by"] = submitted_by
        headers = {"Content-Type": "application/zip", "X-Content-SHA256": content_hash}
        try:
            async with self.session.post(url, data=data, params=params, headers=headers) as response:
                if response.status not in (200, 201):
                    raise MaterialsError(f"{url}: the bank answered {response.status}: {await _short(response)}")
                answer: dict[str, Any] = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise MaterialsError(f"{url}: {type(err).__name__}: {err}") from err
        log.info("event=materials_submitted hash=%s status=%s", content_hash[:12], answer.get("status"))
        return answer


    async def announce(self, sha256: str, size_bytes: int, details: dict[str, Any]) -> Upload:
        """``PUT /uploads/<sha256>``: what is coming; the answer says how much the bank already has."""
        url = f"{self.base_url}/uploads/{sha256}"
        try:
            async with self.session.put(url, json={**details, "size_bytes": size_bytes}) as response:
                if response.status not in (200, 201):
                    raise MaterialsError(f"{url}: the bank answered {response.status}: {await _short(response)}")
                return _upload(url, await response.json(content_type=None))
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise MaterialsError(f"{url}: {type(err).__name__}: {err}") from err

    async def append(self, sha256: str, offset: int, chunk: bytes) -> Upload:
        """``PATCH /uploads/<sha256>``: the next bytes from ``offset``; the answer is the new offset."""
        url = f"{self.base_url}/uploads/{sha256}"
        headers = {"Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)}
        try:
            async with self.session.patch(url, data=chunk, headers=headers) as response:
                if response.status == 204:
                    held = int(response.headers.get("Upload-Offset", "-1"))
                    return Upload(sha256, -1, held, "receiving")
                body = await response.json(content_type=None) if response.content_type == "application/json" else {}
                if response.status == 409 and isinstance(body.get("offset"), int):
                    return Upload(sha256, -1, body["offset"], "receiving")  # we were wrong: go on from the bank's
                if response.status == 422 and isinstance(body.get("sha256"), str):
                    remote = body["sha256"]
                    raise UploadMismatch(f"{url}: the bank's copy hashes to {remote[:12]}..., not {sha256[:12]}...: "
                                         "it is sent again from the start", remote)  # fmt: skip
                if response.status != 200:
                    raise MaterialsError(f"{url}: the bank answered {response.status}: {str(body)[:200]}")
                return _upload(url, body)
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise MaterialsError(f"{url}: upload interrupted ({type(err).__name__}: {err}); it will resume") from err

    async def upload(
        self,
        path: Path,
        sha256: str,
        details: dict[str, Any],
        *,
        chunk_bytes: int = 8 << 20,
        progress: Callable[[int], Awaitable[None]] | None = None,
    ) -> Upload:
        """Send ``path`` from wherever the bank's copy stops; returns the completed upload (the bank's hash).

        Raises :class:`MaterialsError` when the line or the bank fails (call again: it resumes) and
        :class:`UploadMismatch` when the whole file the bank received hashes to something else."""
        size = await self._blocking(lambda: path.stat().st_size)
        state = await self.announce(sha256, size, details)
        while state.status != "complete":
            offset = state.offset
            if not 0 <= offset < size:
                raise MaterialsError(f"{path.name}: the bank holds {offset} of {size} bytes but has not finished it")
            chunk = await self._blocking(lambda at=offset: _read_at(path, at, chunk_bytes))  # type: ignore[misc]
            state = await self.append(sha256, offset, chunk)
            if progress is not None and state.status != "complete":
                await progress(state.offset)
        log.info("event=materials_uploaded hash=%s bytes=%d id=%s", sha256[:12], size, state.remote_id)
        return state


def _upload(url: str, body: Any) -> Upload:
    try:
        return Upload(str(body["sha256"]), int(body["size_bytes"]), int(body["offset"]), str(body["status"]),
                      str(body["id"]) if body.get("id") is not None else None)  # fmt: skip
    except (KeyError, TypeError, ValueError) as err:
        raise MaterialsError(f"{url}: the answer is not an upload status: {str(body)[:200]}") from err


def _read_at(path: Path, offset: int, size: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(size)


def lesson_zip(folder: Path, target: Path) -> Path:
    """Zip a lesson folder (sorted, fixed times) so the same lesson always gives the same bytes."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return target


def _hash_file(path: Path, digest: Any) -> None:
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)


async def _short(response: aiohttp.ClientResponse) -> str:
    return mask_personal((await response.text(errors="replace"))[:200])

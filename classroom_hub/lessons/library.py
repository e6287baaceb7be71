"""The hub's lesson library: packages stored by content hash, playable with the network unplugged.

Layout under the library's folder (the hub's ``<data_dir>/lessons``)::

    <hash>/lesson/...       the package's files, exactly as imported
    <hash>/SHA256SUMS       their sha256sum listing; sha256(SHA256SUMS) == <hash>
    <hash>/record.json      what `lessons list` shows, and when it was imported
    <hash>/pages/<sha256>/  the pages of the PDF with that hash the lesson shows, as pictures
                            (classroom_hub/lessons/pdf.py), served as ``.pages/<sha256>/<n>.webp``
    .incoming/              imports being written; renamed into place when complete

An import is written to ``.incoming/`` and renamed to ``<hash>`` in one step, so a
power cut leaves either the whole lesson or none of it. Importing the same content
again changes nothing. Two versions of a lesson (same id, different content) are kept
side by side; opening by id gives the one imported last.

All I/O here is blocking: the hub calls it through an executor.
"""

from __future__ import annotations

import builtins
import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from classroom_hub.lessons.errors import LessonError, Problem
from classroom_hub.lessons.manifest import Lesson, PdfStep, SlideStep, parse_manifest
from classroom_hub.lessons.package import (
    DEFAULT_LIMITS,
    LessonPackage,
    PackageFile,
    PackageLimits,
    load_package,
    sums_listing,
)
from classroom_hub.lessons.paths import MANIFEST_NAME, check_package_path
from classroom_hub.lessons.pdf import PdfProblem, page_name, render_pages, rendered_count

_log = logging.getLogger(__name__)

_HASH = re.compile(r"^[0-9a-f]{64}$")
_HEX = re.compile(r"^[0-9a-f]+$")
_MIN_PREFIX = 8
_STALE_INCOMING_S = 24 * 3600
PAGES_PREFIX = ".pages/"  # a hidden name: no file of a package can have it
_PAGE = re.compile(r"^\.pages/(?P<sha>[0-9a-f]{64})/(?P<n>[1-9][0-9]{0,4})\.webp$")


def pdf_pages_needed(manifest: Lesson) -> dict[str, set[int] | None]:
    """For each PDF the steps show, the pages they show (None: every page)."""
    needed: dict[str, set[int] | None] = {}
    for step in manifest.steps:
        if isinstance(step, SlideStep) and step.pdf is not None and step.page is not None:
            pages = needed.setdefault(step.pdf, set())
            if pages is not None:
                pages.add(step.page)
        elif isinstance(step, PdfStep):
            if step.pages is None:
                needed[step.file] = None
            else:
                pages = needed.setdefault(step.file, set())
                if pages is not None:
                    pages.update(range(step.pages[0], step.pages[1] + 1))
    return needed


class LessonRecord(BaseModel):
    """One stored lesson, as listed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    subject: str
    grade: int
    language: str
    version: str
    hash: str
    step_count: int
    file_count: int
    size_bytes: int
    imported_at: datetime


@dataclass(frozen=True)
class StoredLesson:
    """A lesson opened from the library: its manifest and where its files are."""

    record: LessonRecord
    manifest: Lesson
    folder: Path
    files: dict[str, PackageFile]
    pdf_pages: dict[str, int] = field(default_factory=dict)  # a shown PDF's path -> its page count

    def page_path(self, pdf: str, page: int) -> str:
        """The name page ``page`` of the lesson's ``pdf`` is served under, as a picture."""
        return f"{PAGES_PREFIX}{self.files[pdf].sha256}/{page_name(page)}"

    def asset(self, name: str) -> PackageFile:
        """The file ``name`` (as written in the manifest or requested by a page), with its size and hash.

        ``lesson.json`` is not an asset: it holds the correct answers, which must never reach a tablet.
        """
        try:
            name = check_package_path(name)
        except ValueError as err:
            raise LessonError([Problem(self.record.id, "", str(err))]) from err
        if name == MANIFEST_NAME or name not in self.files:
            raise LessonError([Problem(f"{self.record.id}/{name}", "", "not a file of this lesson")])
        return self.files[name]

    def asset_path(self, name: str) -> Path:
        """Where to serve ``name`` from; raises :class:`LessonError` for anything not in the package."""
        if name.startswith(PAGES_PREFIX):
            found = _PAGE.match(name)
            shown = {self.files[pdf].sha256 for pdf in self.pdf_pages if pdf in self.files}
            path = self.folder.parent / "pages" / found["sha"] / page_name(int(found["n"])) if found else None
            if found is None or found["sha"] not in shown or path is None or not path.is_file():
                raise LessonError([Problem(f"{self.record.id}/{name}", "", "not a page of this lesson")])
            return path
        return self.folder.joinpath(*self.asset(name).path.split("/"))


class LessonLibrary:
    def __init__(self, root: Path | str, limits: PackageLimits = DEFAULT_LIMITS) -> None:
        self.root = Path(root)
        self.limits = limits

    def import_package(self, source: Path | str) -> LessonRecord:
        """Check the package at ``source`` (folder or .zip) and store it; a no-op if already stored."""
        package = load_package(source, self.limits)
        existing = self._read_record(self.root / package.content_hash)
        if existing is not None:
            return existing
        try:
            return self._store(package)
        except OSError as err:
            raise LessonError([Problem(str(self.root), "", f"cannot store {package.name}: {err}")]) from err

    def open(self, id_or_hash: str) -> StoredLesson:
        """The lesson with this id (latest import), this content hash, or a unique hash prefix (8+ chars)."""
        record = self._find(id_or_hash)
        folder = self.root / record.hash
        try:
            files = _parse_sums((folder / "SHA256SUMS").read_bytes(), folder / "lesson")
            raw = (folder / "lesson" / MANIFEST_NAME).read_bytes()
            manifest = parse_manifest(raw, f"{record.id}/{MANIFEST_NAME}")
        except (OSError, ValueError) as err:
            raise LessonError([Problem(str(folder), "", f"damaged in the library: {err}")]) from err
        return StoredLesson(record, manifest, folder / "lesson", files, self._pages(folder, manifest, files))

    def _pages(self, folder: Path, manifest: Lesson, files: dict[str, PackageFile]) -> dict[str, int]:
        """Page counts of the PDFs shown; renders what is missing (a lesson imported before pages
        were rendered, or a page file lost): the lesson heals when opened."""
        counts: dict[str, int] = {}
        for pdf, pages in pdf_pages_needed(manifest).items():
            if pdf not in files:
                continue
            target = folder / "pages" / files[pdf].sha256
            count = rendered_count(target)
            if count is not None and all((target / page_name(n)).is_file() for n in (pages or range(1, count + 1))):
                counts[pdf] = count
                continue
            _log.info("event=lesson_pages_render lesson=%s pdf=%r reason=missing", folder.name[:12], pdf)
            try:
                counts[pdf] = render_pages(folder / "lesson" / pdf, target, pages)
            except (PdfProblem, OSError) as err:
                raise LessonError([Problem(f"{manifest.id}/{pdf}", "", f"cannot render its pages: {err}")]) from err
        return counts

    def verify(self, id_or_hash: str) -> LessonRecord:
        """Re-read every stored file and check it against the content hash (after a disk scare)."""
        lesson = self.open(id_or_hash)
        problems: list[Problem] = []
        sums = (lesson.folder.parent / "SHA256SUMS").read_bytes()
        if hashlib.sha256(sums).hexdigest() != lesson.record.hash:
            problems.append(Problem(f"{lesson.record.hash}/SHA256SUMS", "", "does not match the hash"))
        for name, expected in sorted(lesson.files.items()):
            path = lesson.folder.joinpath(*name.split("/"))
            try:
                actual = _sha256_of(path)
            except OSError as err:
                problems.append(Problem(f"{lesson.record.id}/{name}", "", f"unreadable: {err}"))
                continue
            if actual != expected.sha256:
                problems.append(Problem(f"{lesson.record.id}/{name}", "", "content changed since import"))
        if problems:
            raise LessonError(problems)
        return lesson.record

    def remove(self, content_hash: str) -> None:
        """Delete one stored version (by full hash), atomically as far as listing goes."""
        if not _HASH.match(content_hash) or not (self.root / content_hash).is_dir():
            raise LessonError([Problem(content_hash, "", "no such lesson in the library")])
        try:
            self._discard(self.root / content_hash)
        except OSError as err:
            raise LessonError([Problem(content_hash, "", f"cannot remove: {err}")]) from err

    def list(self) -> builtins.list[LessonRecord]:
        """Every stored lesson version, by id then import time."""
        if not self.root.is_dir():
            return []
        records = [
            record
            for folder in self.root.iterdir()
            if _HASH.match(folder.name) and (record := self._read_record(folder)) is not None
        ]
        return sorted(records, key=lambda r: (r.id, r.imported_at, r.hash))

    # --- internals ------------------------------------------------------------------------

    def _store(self, package: LessonPackage) -> LessonRecord:
        incoming = self.root / ".incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        self._sweep(incoming)
        work = Path(tempfile.mkdtemp(prefix="import-", dir=incoming))
        try:
            (work / "lesson").mkdir()
            package.copy_into(work / "lesson")
            for pdf, pages in pdf_pages_needed(package.manifest).items():
                try:
                    render_pages(work / "lesson" / pdf, work / "pages" / package.files[pdf].sha256, pages)
                except PdfProblem as err:
                    raise LessonError([Problem(f"{package.name}/{pdf}", "", str(err))]) from err
            _write(work / "SHA256SUMS", sums_listing(package.files.values()))
            manifest = package.manifest
            record = LessonRecord(
                id=manifest.id,
                title=manifest.title,
                subject=manifest.subject,
                grade=manifest.grade,
                language=manifest.language,
                version=manifest.version,
                hash=package.content_hash,
                step_count=len(manifest.steps),
                file_count=len(package.files),
                size_bytes=sum(f.size for f in package.files.values()),
                imported_at=datetime.now(UTC),
            )
            _write(work / "record.json", record.model_dump_json(indent=2).encode("utf-8"))
            _fsync_tree(work)
            target = self.root / package.content_hash
            try:
                os.rename(work, target)
            except OSError:
                # Another import of the same content got there first: theirs is as good as ours.
                existing = self._read_record(target)
                if existing is not None:
                    return existing
                # A damaged copy (no readable record): importing again is how a teacher repairs it.
                self._discard(target)
                os.rename(work, target)
            _fsync_dir(self.root)
            return record
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _discard(self, folder: Path) -> None:
        """Take ``folder`` out of the library in one rename, then delete it."""
        incoming = self.root / ".incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        doomed = Path(tempfile.mkdtemp(prefix="remove-", dir=incoming))
        os.rename(folder, doomed / folder.name)
        shutil.rmtree(doomed, ignore_errors=True)

    def _find(self, key: str) -> LessonRecord:
        records = self.list()
        by_id = [r for r in records if r.id == key]
        if by_id:
            return max(by_id, key=lambda r: r.imported_at)
        if len(key) >= _MIN_PREFIX and _HEX.match(key):
            by_hash = [r for r in records if r.hash.startswith(key)]
            if len(by_hash) == 1:
                return by_hash[0]
            if len(by_hash) > 1:
                raise LessonError([Problem(key, "", f"matches {len(by_hash)} lessons; give more digits")])
        raise LessonError([Problem(key, "", "no such lesson in the library (see `lessons list`)")])

    @staticmethod
    def _read_record(folder: Path) -> LessonRecord | None:
        try:
            return LessonRecord.model_validate_json((folder / "record.json").read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValidationError) as err:
            _log.warning("lesson library: skipping %s: %s", folder, err)
            return None

    @staticmethod
    def _sweep(incoming: Path) -> None:
        """Remove what crashed imports left behind (old enough not to be a running import)."""
        cutoff = time.time() - _STALE_INCOMING_S
        for leftover in incoming.iterdir():
            try:
                if leftover.stat().st_mtime < cutoff:
                    shutil.rmtree(leftover, ignore_errors=True)
            except OSError:
                continue


def _parse_sums(data: bytes, folder: Path) -> dict[str, PackageFile]:
    files: dict[str, PackageFile] = {}
    for line in data.decode("utf-8").splitlines():
        digest, sep, name = line[:64], line[64:66], line[66:]
        if sep != "  " or not _HASH.match(digest) or not name:
            raise ValueError(f"bad SHA256SUMS line {line!r}")
        size = folder.joinpath(*name.split("/")).stat().st_size
        files[name] = PackageFile(name, size, digest)
    return files


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _write(path: Path, data: bytes) -> None:
    with open(path, "xb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _fsync_tree(root: Path) -> None:
    for folder, _dirs, _files in os.walk(root):
        _fsync_dir(Path(folder))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

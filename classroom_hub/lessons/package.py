"""Reading a lesson package from a folder or a ``.zip`` and checking it completely.

A package is ``lesson.json`` plus the files its steps refer to. Loading refuses
anything unsafe before a byte is extracted: paths leaving the package, absolute
paths, symbolic links (in a zip at all; in a folder when they point outside it),
too many or too large files, and zip entries compressed beyond any real content
(zip bombs). Every problem names the file, and the field of ``lesson.json`` when
there is one, and all problems are reported together in one :class:`LessonError`.

Nothing here touches the event loop: the hub calls it through an executor.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import posixpath
import stat
import unicodedata
import urllib.parse
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from classroom_hub.lessons.errors import LessonError, Problem
from classroom_hub.lessons.gltf import GltfProblem, check_model
from classroom_hub.lessons.html_slides import is_remote, loaded_references
from classroom_hub.lessons.manifest import Lesson, ModelStep, PdfStep, SlideStep, parse_manifest
from classroom_hub.lessons.paths import MANIFEST_NAME, check_package_path, is_ignored
from classroom_hub.lessons.pdf import PdfProblem, check_pdf

_CHUNK = 1 << 20
# OSError: unreadable file (and corrupt bzip2 data); zlib.error, lzma.LZMAError: corrupt data;
# EOFError: compressed data cut short; NotImplementedError: unknown zip compression method;
# RuntimeError: an encrypted zip entry.
_READ_ERRORS = (OSError, zlib.error, lzma.LZMAError, EOFError, zipfile.LargeZipFile, NotImplementedError, RuntimeError)


@dataclass(frozen=True)
class PackageLimits:
    """What a package may hold. The defaults fit a lesson with a few videos."""

    max_files: int = 5000
    max_file_bytes: int = 1 << 30
    max_total_bytes: int = 2 << 30
    # Real content (text, SVG, JSON) compresses up to ~20:1; a bomb does thousands to one.
    max_zip_ratio: int = 100
    ratio_floor_bytes: int = 1 << 20
    max_manifest_bytes: int = 1 << 20
    max_html_bytes: int = 8 << 20
    max_pdf_bytes: int = 256 << 20
    max_model_bytes: int = 256 << 20


DEFAULT_LIMITS = PackageLimits()


@dataclass(frozen=True)
class PackageFile:
    path: str
    size: int
    sha256: str


def sums_listing(files: Iterable[PackageFile]) -> bytes:
    """The package's files in ``sha256sum`` format, sorted by the UTF-8 bytes of their path.

    Its SHA-256 is the package's content hash, so anyone can recompute it with
    ``find . -type f | sed 's|^\\./||' | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum``.
    """
    ordered = sorted(files, key=lambda f: f.path.encode("utf-8"))
    return "".join(f"{f.sha256}  {f.path}\n" for f in ordered).encode("utf-8")


def content_hash(files: Iterable[PackageFile]) -> str:
    return hashlib.sha256(sums_listing(files)).hexdigest()


@dataclass(frozen=True)
class _Entry:
    path: str  # name inside the package (NFC, '/'-separated)
    size: int  # as listed before reading
    key: str  # where the bytes are: a file's absolute path or a zip member's name


class _Reader(Protocol):
    def open(self, entry: _Entry) -> BinaryIO: ...


class _FolderReader:
    def open(self, entry: _Entry) -> BinaryIO:
        return open(entry.key, "rb")


class _ZipReader:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self._archive = archive

    def open(self, entry: _Entry) -> BinaryIO:
        return self._archive.open(entry.key)  # type: ignore[return-value]


class LessonPackage:
    """A package that passed every check. Its bytes stay where they are until :meth:`copy_into`."""

    def __init__(
        self,
        source: Path,
        name: str,
        manifest: Lesson,
        entries: dict[str, _Entry],
        files: dict[str, PackageFile],
    ) -> None:
        self.source = source
        self.name = name
        self.manifest = manifest
        self.files = files
        self.content_hash = content_hash(files.values())
        self._entries = entries

    def read_bytes(self, path: str) -> bytes:
        with self._reader() as reader, reader.open(self._entries[path]) as stream:
            return stream.read()

    def copy_into(self, folder: Path) -> None:
        """Write every file under ``folder`` (which must exist), checking each against its hash.

        ``OSError`` from writing (a full disk) is left to the caller, who knows what ``folder`` is.
        """
        with self._reader() as reader:
            for path, entry in sorted(self._entries.items()):
                target = folder.joinpath(*path.split("/"))
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "xb") as out:
                    try:
                        digest, size = _stream(reader, entry, out, self.name)
                    except (zipfile.BadZipFile, zlib.error) as err:
                        raise LessonError([Problem(f"{self.name}/{path}", "", f"cannot be read: {err}")]) from err
                    out.flush()
                    os.fsync(out.fileno())
                if digest != self.files[path].sha256 or size != self.files[path].size:
                    raise LessonError([Problem(f"{self.name}/{path}", "", "changed while being imported")])

    @contextmanager
    def _reader(self) -> Iterator[_Reader]:
        if self.source.is_dir():
            yield _FolderReader()
        else:
            with zipfile.ZipFile(self.source) as archive:
                yield _ZipReader(archive)


def load_package(source: Path | str, limits: PackageLimits = DEFAULT_LIMITS) -> LessonPackage:
    """Read and check the package at ``source`` (a folder, its ``lesson.json``, or a ``.zip``).

    Raises :class:`LessonError` listing every problem found.
    """
    source = Path(source)
    if source.name == MANIFEST_NAME and source.is_file():
        source = source.parent  # the author pointed at the manifest; the package is its folder
    try:
        if source.is_dir():
            name, entries, problems = _list_folder(source, limits)
            return _check(source, name, entries, problems, _FolderReader(), limits)
        if not source.exists():
            raise LessonError([Problem(str(source), "", "not found")])
        if source.stat().st_size > limits.max_total_bytes:
            raise LessonError([Problem(source.name, "", f"larger than the limit of {limits.max_total_bytes} bytes")])
        with zipfile.ZipFile(source) as archive:
            name, entries, problems = _list_zip(source, archive, limits)
            return _check(source, name, entries, problems, _ZipReader(archive), limits)
    except zipfile.BadZipFile as err:
        raise LessonError([Problem(source.name, "", f"not a lesson folder nor a valid .zip file ({err})")]) from err
    except UnicodeDecodeError as err:  # zipfile decodes a name flagged UTF-8 (bit 11) while opening
        why = f"holds an entry whose name {bytes(err.object)!r} is flagged UTF-8 but is not"
        raise LessonError([Problem(source.name, "", why)]) from err
    except _READ_ERRORS as err:
        raise LessonError([Problem(source.name, "", f"cannot be read: {err}")]) from err


# --- listing ------------------------------------------------------------------------------


def _list_folder(root: Path, limits: PackageLimits) -> tuple[str, list[_Entry], list[Problem]]:
    root = root.resolve()
    name = root.name
    entries: list[_Entry] = []
    problems: list[Problem] = []
    for folder, dirnames, filenames in os.walk(root):
        here = Path(folder)
        rel_folder = here.relative_to(root).as_posix()
        for dirname in sorted(dirnames):
            rel = dirname if rel_folder == "." else f"{rel_folder}/{dirname}"
            if (here / dirname).is_symlink():
                dirnames.remove(dirname)
                if not is_ignored(rel):
                    inside = (here / dirname).resolve().is_relative_to(root)
                    why = "is a link to a folder; copy the files in instead" if inside else "links outside the package"
                    problems.append(Problem(f"{name}/{rel}", "", why))
            elif is_ignored(rel):
                dirnames.remove(dirname)
        dirnames.sort()
        for filename in sorted(filenames):
            rel = filename if rel_folder == "." else f"{rel_folder}/{filename}"
            if is_ignored(rel):
                continue
            path = here / filename
            try:
                rel = check_package_path(rel, hidden_ok=True)
                if path.is_symlink() and not path.resolve().is_relative_to(root):
                    raise ValueError("is a link pointing outside the package")
                info = path.stat()
                if not stat.S_ISREG(info.st_mode):
                    raise ValueError("is not a regular file")
                if info.st_size > limits.max_file_bytes:
                    raise ValueError(f"is {info.st_size} bytes, more than the limit of {limits.max_file_bytes}")
            except (ValueError, OSError) as err:
                problems.append(Problem(f"{name}/{rel}", "", str(err)))
                continue
            entries.append(_Entry(rel, info.st_size, str(path)))
            if len(entries) > limits.max_files:
                raise LessonError([Problem(name, "", f"holds more than the limit of {limits.max_files} files")])
    return name, entries, problems


def _list_zip(source: Path, archive: zipfile.ZipFile, limits: PackageLimits) -> tuple[str, list[_Entry], list[Problem]]:
    # Not ZipInfo.is_dir(): it raises IndexError on an entry with an empty name.
    infos = [info for info in archive.infolist() if not info.filename.endswith("/")]
    if len(infos) > limits.max_files:
        raise LessonError(
            [Problem(source.name, "", f"holds {len(infos)} files, more than the limit of {limits.max_files}")]
        )
    entries: list[_Entry] = []
    problems: list[Problem] = []
    total = 0
    for info in infos:
        label = f"{source.name}: {info.filename}"
        try:
            rel = check_package_path(info.filename, hidden_ok=True)
        except ValueError as err:
            problems.append(Problem(label, "", str(err)))
            continue
        if is_ignored(rel):
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            problems.append(Problem(label, "", "is a symbolic link; a zip may only hold plain files"))
            continue
        if info.flag_bits & 0x1:
            problems.append(Problem(label, "", "is encrypted; make the zip without a password"))
            continue
        total += info.file_size
        if info.file_size > limits.max_file_bytes:
            problems.append(
                Problem(label, "", f"is {info.file_size} bytes, more than the limit of {limits.max_file_bytes}")
            )
        elif info.file_size > limits.ratio_floor_bytes and info.file_size > limits.max_zip_ratio * max(
            info.compress_size, 1
        ):
            ratio = info.file_size // max(info.compress_size, 1)
            problems.append(Problem(label, "", f"expands {ratio}:1 ({info.file_size} bytes): refused as a zip bomb"))
        else:
            entries.append(_Entry(rel, info.file_size, info.filename))
    if total > limits.max_total_bytes:
        raise LessonError(
            [
                Problem(
                    source.name,
                    "",
                    f"expands to {total} bytes, more than the limit of {limits.max_total_bytes}",
                )
            ]
        )
    # A zip of the lesson folder (the usual "Compress" or "Send to zip") has one folder at its top.
    name = source.stem
    if not any(e.path == MANIFEST_NAME for e in entries):
        tops = {e.path.split("/", 1)[0] for e in entries if "/" in e.path}
        if len(tops) == 1 and all("/" in e.path for e in entries):
            top = tops.pop()
            if any(e.path == f"{top}/{MANIFEST_NAME}" for e in entries):
                name = top
                entries = [_Entry(e.path[len(top) + 1 :], e.size, e.key) for e in entries]
    return name, entries, problems


# --- checking -----------------------------------------------------------------------------


def _check(
    source: Path,
    name: str,
    listed: list[_Entry],
    problems: list[Problem],
    reader: _Reader,
    limits: PackageLimits,
) -> LessonPackage:
    entries: dict[str, _Entry] = {}
    for entry in listed:
        if entry.path in entries:
            problems.append(Problem(f"{name}/{entry.path}", "", "appears twice (names differing only in accents?)"))
        entries[entry.path] = entry
    if len(entries) > limits.max_files:
        problems.append(Problem(name, "", f"holds {len(entries)} files, more than the limit of {limits.max_files}"))
    total = sum(e.size for e in entries.values())
    if total > limits.max_total_bytes:
        problems.append(Problem(name, "", f"holds {total} bytes, more than the limit of {limits.max_total_bytes}"))

    manifest_label = f"{name}/{MANIFEST_NAME}"
    manifest: Lesson | None = None
    if MANIFEST_NAME not in entries:
        problems.append(Problem(manifest_label, "", "missing: a lesson package needs lesson.json at its top level"))
    elif entries[MANIFEST_NAME].size > limits.max_manifest_bytes:
        problems.append(Problem(manifest_label, "", f"larger than {limits.max_manifest_bytes} bytes"))
    else:
        try:
            manifest = parse_manifest(
                _read(reader, entries[MANIFEST_NAME], limits.max_manifest_bytes, name), manifest_label
            )
        except LessonError as err:
            problems.extend(err.problems)
    if manifest is not None:
        problems.extend(_check_assets(name, manifest, entries, reader, limits))
    if problems:
        raise LessonError(problems)
    assert manifest is not None
    files: dict[str, PackageFile] = {}
    for path, entry in sorted(entries.items()):
        digest, size = _stream(reader, entry, None, name)
        files[path] = PackageFile(path, size, digest)
    return LessonPackage(source, name, manifest, entries, files)


def _check_assets(
    name: str, manifest: Lesson, entries: dict[str, _Entry], reader: _Reader, limits: PackageLimits
) -> list[Problem]:
    problems: list[Problem] = []
    folded = {path.casefold(): path for path in entries}
    for where, path in manifest.assets():
        if path not in entries:
            hint = (
                f" (there is {folded[path.casefold()]!r}; names are case-sensitive)"
                if path.casefold() in folded
                else ""
            )
            problems.append(Problem(f"{name}/{path}", where, f"missing{hint}"))
    for i, step in enumerate(manifest.steps):
        if isinstance(step, SlideStep) and step.html is not None and step.html in entries:
            entry = entries[step.html]
            if entry.size > limits.max_html_bytes:
                problems.append(Problem(f"{name}/{step.html}", f"steps[{i}].html", "too large to check"))
                continue
            html = _read(reader, entry, limits.max_html_bytes, name).decode("utf-8", errors="replace")
            problems.extend(_check_html(name, step.html, html, entries))
    problems.extend(_check_pdfs(name, manifest, entries, reader, limits))
    problems.extend(_check_models(name, manifest, entries, reader, limits))
    return problems


def _check_pdfs(
    name: str, manifest: Lesson, entries: dict[str, _Entry], reader: _Reader, limits: PackageLimits
) -> list[Problem]:
    """Every PDF a step shows opens without a password and has the pages the steps name."""
    problems: list[Problem] = []
    counts: dict[str, int | None] = {}
    for i, step in enumerate(manifest.steps):
        if isinstance(step, SlideStep) and step.pdf is not None and step.page is not None:
            pdf, file_field, field, last = step.pdf, f"steps[{i}].pdf", f"steps[{i}].page", step.page
        elif isinstance(step, PdfStep):
            pdf, file_field, field = step.file, f"steps[{i}].file", f"steps[{i}].pages"
            last = step.pages[1] if step.pages else 1
        else:
            continue
        if pdf not in entries:
            continue  # reported as missing
        if pdf not in counts:
            counts[pdf] = None
            if entries[pdf].size > limits.max_pdf_bytes:
                problems.append(Problem(f"{name}/{pdf}", file_field, f"larger than {limits.max_pdf_bytes} bytes"))
                continue
            try:
                counts[pdf] = check_pdf(_read(reader, entries[pdf], limits.max_pdf_bytes, name))
            except PdfProblem as err:
                problems.append(Problem(f"{name}/{pdf}", file_field, str(err)))
        count = counts[pdf]
        if count is not None and last > count:
            problems.append(Problem(f"{name}/{pdf}", field, f"has {count} pages, no page {last}"))
    return problems


def _check_models(
    name: str, manifest: Lesson, entries: dict[str, _Entry], reader: _Reader, limits: PackageLimits
) -> list[Problem]:
    """Every 3D model is glTF 2.0 that shows offline, with every file it refers to in the package."""
    problems: list[Problem] = []
    for i, step in enumerate(manifest.steps):
        if not isinstance(step, ModelStep) or step.file not in entries:
            continue
        label, field = f"{name}/{step.file}", f"steps[{i}].file"
        if entries[step.file].size > limits.max_model_bytes:
            problems.append(Problem(label, field, f"larger than {limits.max_model_bytes} bytes"))
            continue
        data = _read(reader, entries[step.file], limits.max_model_bytes, name)
        try:
            references = check_model(data, binary=step.file.lower().endswith(".glb"))
        except GltfProblem as err:
            problems.append(Problem(label, field, str(err)))
            continue
        for reference in references:
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(step.file), reference))
            if resolved.startswith("../") or resolved == ".." or reference.startswith("/"):
                problems.append(Problem(label, field, f"refers to {reference!r}, outside the package"))
            elif unicodedata.normalize("NFC", resolved) not in entries:
                problems.append(Problem(label, field, f"refers to {reference!r}, which is missing"))
    return problems


def _check_html(name: str, page: str, html: str, entries: dict[str, _Entry]) -> list[Problem]:
    problems: list[Problem] = []
    label = f"{name}/{page}"
    for reference in loaded_references(html):
        if is_remote(reference):
            problems.append(
                Problem(
                    label,
                    "",
                    f"loads {reference!r} from the network; a lesson must play offline, put the file in the package",
                )
            )
            continue
        target = urllib.parse.unquote(reference.split("#", 1)[0].split("?", 1)[0])
        if not target:
            continue
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page), target))
        if resolved.startswith("../") or resolved == ".." or target.startswith("/"):
            problems.append(Problem(label, "", f"refers to {reference!r}, outside the package"))
        elif unicodedata.normalize("NFC", resolved) not in entries:
            problems.append(Problem(label, "", f"refers to {reference!r}, which is missing"))
    return problems


def _read(reader: _Reader, entry: _Entry, limit: int, name: str) -> bytes:
    with reader.open(entry) as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise LessonError([Problem(f"{name}/{entry.path}", "", f"larger than {limit} bytes")])
    return data


def _stream(reader: _Reader, entry: _Entry, out: BinaryIO | None, name: str) -> tuple[str, int]:
    """Hash (and copy to ``out``) one file, never reading more than it was listed with."""
    digest = hashlib.sha256()
    size = 0
    with reader.open(entry) as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > entry.size:
                raise LessonError(
                    [
                        Problem(
                            f"{name}/{entry.path}",
                            "",
                            "grew while being read (or its zip entry lies about its size)",
                        )
                    ]
                )
            digest.update(chunk)
            if out is not None:
                out.write(chunk)
    return digest.hexdigest(), size

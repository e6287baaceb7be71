"""Lesson manifests and packages: whatever a content author (or a malicious one) hands the hub.

``parse_manifest`` gets mutated manifests, texts no JSON parser likes and nesting past
every recursion limit: it returns a lesson or a :class:`LessonError` naming the file. The
library's ``import_package`` gets zips built entry by entry (names that climb out of the
package, absolute, with backslashes or invalid UTF-8, duplicates, symbolic links,
encrypted entries, a zip bomb, sizes that lie, every compression method, a damaged
archive) and folders with links pointing anywhere, pipes and names no file system should
hold. It stores a lesson it can verify afterwards, or refuses with a :class:`LessonError`,
and never writes a byte outside its library.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import stat
import struct
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from classroom_hub.lessons import sample_packages
from classroom_hub.lessons.errors import LessonError
from classroom_hub.lessons.library import LessonLibrary
from classroom_hub.lessons.manifest import Lesson, parse_manifest
from classroom_hub.lessons.paths import check_package_path
from tests.fuzz.profile import counted, fuzz
from tests.fuzz.strategies import NASTY_TEXTS, encode, json_payload, mutate

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 9"><rect width="16" height="9"/></svg>'
HTML = b'<!doctype html><link rel="stylesheet" href="style.css"><img src="01.svg"><p>Nitrat</p>'
MANIFEST: dict[str, Any] = {
    "id": "thu-nghiem",
    "title": "Bài thử",
    "subject": "biology",
    "grade": 7,
    "language": "vi",
    "authors": ["Cô Lan"],
    "version": "1.0",
    "steps": [
        {"id": "mo-dau", "kind": "slide", "image": "slides/01.svg"},
        {"id": "trang", "kind": "slide", "html": "slides/02.html"},
        {"id": "cau-1", "kind": "quiz", "type": "single_choice", "prompt": "Cá thở bằng gì?",
         "choices": [{"id": "a", "text": "Mang"}, {"id": "b", "text": "Phổi"}], "correct": ["a"]},
        {"id": "cau-2", "kind": "quiz", "type": "short_answer", "prompt": "?", "accepted": ["nitrat"],
         "numeric": {"value": 20, "tolerance": 0.5, "units": ["m/s"]}},
    ],
}  # fmt: skip
FILES = {"slides/01.svg": SVG, "slides/02.html": HTML, "slides/style.css": b"p { color: #123; }"}


def _sample_manifests() -> list[dict[str, Any]]:
    return [json.loads((folder / "lesson.json").read_text(encoding="utf-8")) for folder in sample_packages()]


MANIFESTS = st.sampled_from([MANIFEST, *_sample_manifests()])


# --- manifests -------------------------------------------------------------------------------


@st.composite
def manifest_bytes(draw: st.DrawFn) -> bytes:
    data = json_payload(draw, MANIFESTS)
    if draw(st.integers(0, 9)) == 0:
        data = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b""])) + data
    return data


@example(b"[" * 100_000 + b"]" * 100_000)  # RecursionError from the json module before the fix
@example(b'{"id": ' * 5000 + b"1" + b"}" * 5000)
@example(json.dumps({**MANIFEST, "title": "\ud800"}).encode())  # a lone surrogate, as a JSON escape
@fuzz(ci=300)
@given(manifest_bytes())
@counted("lesson manifests")
def test_a_manifest_is_a_lesson_or_a_lesson_error_naming_the_file(data: bytes) -> None:
    try:
        lesson = parse_manifest(data, "goi/lesson.json")
    except LessonError as err:
        assert err.problems
        for problem in err.problems:
            assert problem.file == "goi/lesson.json" and problem.message, problem
            str(problem).encode("utf-8")  # printable on the technician's console
        return
    assert isinstance(lesson, Lesson)
    lesson.model_dump_json().encode("utf-8")  # stored in the library's record, sent to pages
    for _, path in lesson.assets():
        assert check_package_path(path) == path


def test_a_manifest_nested_past_the_recursion_limit_is_refused_by_name() -> None:
    with pytest.raises(LessonError) as caught:
        parse_manifest(b"[" * 100_000 + b"]" * 100_000, "goi/lesson.json")
    assert str(caught.value) == "goi/lesson.json: not valid JSON: nested too deeply"


def test_text_with_a_lone_surrogate_is_refused_where_it_is() -> None:
    with pytest.raises(LessonError) as caught:
        parse_manifest(json.dumps({**MANIFEST, "title": "B\ud800i"}).encode(), "goi/lesson.json")
    assert [(p.where, p.message) for p in caught.value.problems] == [
        ("title", "Input should be a valid string, unable to parse raw data as a unicode string")
    ]


def test_a_zip_entry_named_in_bad_utf8_is_refused_by_name(tmp_path: Path) -> None:
    source = tmp_path / "bai-thu.zip"
    source.write_bytes(
        _invalid_utf8_name(build_zip([("lesson.json", b"{}", {}), ("slides/\u00f3.svg", SVG, {})], None))
    )
    with pytest.raises(LessonError) as caught:
        LessonLibrary(tmp_path / "library").import_package(source)
    assert str(caught.value) == (
        "bai-thu.zip: holds an entry whose name b'slides/\\xff\\xfe.svg' is flagged UTF-8 but is not"
    )


# --- packages: zips --------------------------------------------------------------------------

HOSTILE_NAMES = [
    "../evil.svg",
    "../../evil.svg",
    "slides/../../evil.svg",
    "/evil.svg",
    "/tmp/evil.svg",
    "C:/evil.svg",
    "C:\\evil.svg",
    "slides\\..\\..\\evil.svg",
    "slides/./01.svg",
    "slides//01.svg",
    "",
    ".",
    "..",
    ".hidden/evil.svg",
    "__MACOSX/slides/._01.svg",
    "Thumbs.db",
    "slides/01.SVG",
    "slides/0\u0301.svg",  # a decomposed accent
    "slides/\u00f3.svg",  # the same name composed
    "slides/evil\x00.svg",
    "slides/evil\n.svg",
    "a/" * 300 + "evil.svg",
    "x" * 300 + ".svg",
    "lesson.json",
    "slides/",
]
METHODS = [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
S_IFLNK = 0o120000


@st.composite
def entries(draw: st.DrawFn) -> list[tuple[str, bytes, dict[str, Any]]]:
    """The package's entries (name, bytes, how to store it), some changed for the worse."""
    manifest = mutate(draw, MANIFEST) if draw(st.integers(0, 3)) == 0 else MANIFEST
    out = [("lesson.json", encode(draw, manifest), {}), *((name, data, {}) for name, data in FILES.items())]
    for _ in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from(["rename", "add", "drop", "twice", "link", "encrypted", "bomb", "method"]))
        at = draw(st.integers(0, len(out) - 1)) if out else 0
        if action == "rename" and out:
            name, data, how = out[at]
            out[at] = (draw(st.sampled_from(HOSTILE_NAMES)), data, how)
        elif action == "add":
            out.append((draw(st.one_of(st.sampled_from(HOSTILE_NAMES), st.text(max_size=40))), SVG, {}))
        elif action == "drop" and out:
            del out[at]
        elif action == "twice" and out:
            out.append((out[at][0], draw(st.sampled_from([SVG, b"", b"other"])), {}))
        elif action == "link" and out:
            name, _, how = out[at]
            out[at] = (
                name,
                draw(st.sampled_from([b"/etc/passwd", b"../../outside", b"01.svg"])),
                {**how, "link": True},
            )
        elif action == "encrypted" and out:
            out[at] = (out[at][0], out[at][1], {**out[at][2], "encrypted": True})
        elif action == "bomb":
            out.append(("slides/bomb.svg", b"\0" * draw(st.sampled_from([(1 << 20) + 1, 3 << 20])), {}))
        elif action == "method" and out:
            out[at] = (out[at][0], out[at][1], {**out[at][2], "method": draw(st.sampled_from(METHODS))})
    return out


def build_zip(items: list[tuple[str, bytes, dict[str, Any]]], top: str | None) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # "Duplicate name": a duplicate is what this case is about
        for name, data, how in items:
            info = zipfile.ZipInfo(f"{top}/{name}" if top else name, date_time=(2024, 9, 5, 8, 0, 0))
            info.compress_type = how.get("method", zipfile.ZIP_DEFLATED)
            if how.get("link"):
                info.external_attr = (S_IFLNK | 0o777) << 16
            if how.get("encrypted"):
                info.flag_bits |= 0x1
            with contextlib.suppress(ValueError):  # a name with NUL: zipfile refuses to write it
                archive.writestr(info, data)
    return buffer.getvalue()


def _lie_about_sizes(data: bytes, entry: int, size: int) -> bytes:
    """Change the uncompressed size the central directory gives one entry."""
    out = bytearray(data)
    found = [i for i in range(len(out)) if out.startswith(b"PK\x01\x02", i)]
    if found:
        at = found[entry % len(found)] + 24
        out[at : at + 4] = struct.pack("<I", size & 0xFFFFFFFF)
    return bytes(out)


def _invalid_utf8_name(data: bytes) -> bytes:
    """An entry named in UTF-8 (flag 0x800) whose bytes are not UTF-8."""
    return data.replace("slides/\u00f3.svg".encode(), b"slides/\xff\xfe.svg")  # the same length


@st.composite
def zips(draw: st.DrawFn) -> bytes:
    items = draw(entries())
    data = build_zip(items, draw(st.sampled_from([None, None, "thu-nghiem", "a/b"])))
    damage_kind = draw(st.sampled_from(["none", "none", "none", "sizes", "utf8", "bytes", "cut"]))
    if damage_kind == "sizes":
        data = _lie_about_sizes(data, draw(st.integers(0, 10)), draw(st.sampled_from([0, 1, 10, 1 << 31, 2**32 - 1])))
    elif damage_kind == "utf8":
        data = _invalid_utf8_name(build_zip([*items, ("slides/\u00f3.svg", SVG, {})], None))
    elif damage_kind == "bytes":
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, max(0, len(data) - 1)))
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    elif damage_kind == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    return data


def _files(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file() or path.is_symlink()}


_cases = itertools.count()


def _import_checked(library: LessonLibrary, source: Path, scratch: Path) -> None:
    """Stored and verifiable, or refused by name; no byte written outside the library."""
    before = _files(scratch)
    try:
        record = library.import_package(source)
    except LessonError as err:
        assert err.problems and all(p.file and p.message for p in err.problems), err.problems
        str(err).encode("utf-8", "surrogateescape")
    else:
        assert library.verify(record.hash) == record
        lesson = library.open(record.hash)
        assert lesson.manifest.id == record.id
    written = _files(scratch) - before
    outside = [p for p in written if library.root not in p.parents]
    assert not outside, outside
    for path in _files(library.root):  # <hash>/{lesson/..., SHA256SUMS, record.json}, nothing else
        top, *rest = path.relative_to(library.root).parts
        assert len(top) == 64 and rest and (rest[0] == "lesson" or len(rest) == 1), path


@fuzz(ci=150, slow=3000)
@given(data=zips())
@counted("lesson packages (zip)")
def test_a_zip_is_stored_and_verifiable_or_refused_and_nothing_lands_outside(tmp_path: Path, data: bytes) -> None:
    scratch = tmp_path / f"case-{next(_cases)}"
    scratch.mkdir()
    source = scratch / "uploads" / "bai-thu.zip"
    source.parent.mkdir()
    source.write_bytes(data)
    _import_checked(LessonLibrary(scratch / "library"), source, scratch)


# --- packages: folders -----------------------------------------------------------------------

LINK_TARGETS = ["01.svg", "../lesson.json", "/etc/passwd", "../../outside.svg", "missing.svg", "self", "/etc", "."]


@st.composite
def folder_changes(draw: st.DrawFn) -> list[tuple[str, str, str]]:
    """(what, where, how): links, pipes and names a file system allows but a package must not hold."""
    changes = []
    for _ in range(draw(st.integers(1, 4))):
        what = draw(st.sampled_from(["link", "link", "pipe", "name", "bytes_name", "deep", "manifest_link"]))
        where = draw(st.sampled_from(["slides/extra.svg", "slides/sub", "extra.svg", "slides/01.svg"]))
        how = draw(st.one_of(st.sampled_from(LINK_TARGETS), st.sampled_from(NASTY_TEXTS[:30])))
        changes.append((what, where, how))
    return changes


def build_folder(root: Path, changes: list[tuple[str, str, str]], outside: Path) -> None:
    (root / "slides").mkdir(parents=True)
    (root / "lesson.json").write_text(json.dumps(MANIFEST, ensure_ascii=False), encoding="utf-8")
    for name, data in FILES.items():
        (root / name).write_bytes(data)
    for what, where, how in changes:
        target = root / where
        with contextlib.suppress(OSError, ValueError):
            if target.exists() or target.is_symlink():
                if target.is_dir() and not target.is_symlink():
                    continue
                target.unlink()
            if what == "link":
                target.symlink_to(outside / "outside.svg" if how == "../../outside.svg" else how)
            elif what == "manifest_link":
                (root / "lesson.json").unlink()
                (root / "lesson.json").symlink_to(outside / "outside.svg")
            elif what == "pipe":
                os.mkfifo(target)
            elif what == "name":
                (root / "slides" / how).write_bytes(SVG)
            elif what == "bytes_name":
                with open(os.fsencode(root / "slides") + b"/\xff\xfe.svg", "wb") as out:
                    out.write(SVG)
            elif what == "deep":
                deep = root.joinpath(*["d"] * 60)
                deep.mkdir(parents=True)
                (deep / "x.svg").write_bytes(SVG)


@fuzz(ci=100, slow=2000)
@given(changes=folder_changes())
@counted("lesson packages (folder)")
def test_a_folder_is_stored_and_verifiable_or_refused_and_nothing_lands_outside(
    tmp_path: Path, changes: list[tuple[str, str, str]]
) -> None:
    scratch = tmp_path / f"case-{next(_cases)}"
    outside = scratch / "outside"
    outside.mkdir(parents=True)
    (outside / "outside.svg").write_bytes(b"<svg>secret</svg>")
    folder = scratch / "thu-nghiem"
    build_folder(folder, changes, outside)
    _import_checked(LessonLibrary(scratch / "library"), folder, scratch)
    for path in _files(scratch / "library"):
        assert not stat.S_ISLNK(path.lstat().st_mode), f"a link in the library: {path}"
        assert b"secret" not in path.read_bytes(), f"a file from outside the package: {path}"

"""The hub's lesson library: stored by content hash, re-import is a no-op, assets served safely."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from classroom_hub.lessons import LessonError, LessonLibrary, load_package

WriteFolder = Callable[..., Path]
ZipFolder = Callable[..., Path]


def stored_folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if not p.name.startswith("."))


def test_import_and_list_both_samples(samples: dict[str, Path], tmp_path: Path) -> None:
    library = LessonLibrary(tmp_path / "lessons")
    assert library.list() == []
    water = library.import_package(samples["vong-tuan-hoan-nuoc-aquaponics"])
    motion = library.import_package(samples["chuyen-dong-thang-10"])
    listed = library.list()
    assert [r.id for r in listed] == ["chuyen-dong-thang-10", "vong-tuan-hoan-nuoc-aquaponics"]
    assert listed[1] == water
    assert (water.title, water.subject, water.grade, water.language) == (
        "Vòng tuần hoàn nước trong bể aquaponics",
        "natural_science",
        7,
        "vi",
    )
    assert (motion.subject, motion.grade) == ("physics", 10)
    assert water.step_count == 14 and motion.step_count == 13
    assert water.hash == load_package(samples["vong-tuan-hoan-nuoc-aquaponics"]).content_hash
    assert water.imported_at.tzinfo is not None
    assert stored_folders(tmp_path / "lessons") == sorted([water.hash, motion.hash])


def test_reimport_of_the_same_content_changes_nothing(
    samples: dict[str, Path], tmp_path: Path, zip_folder: ZipFolder
) -> None:
    folder = samples["vong-tuan-hoan-nuoc-aquaponics"]
    library = LessonLibrary(tmp_path / "lessons")
    first = library.import_package(folder)
    stored = tmp_path / "lessons" / first.hash
    before = {p: p.stat().st_mtime_ns for p in stored.rglob("*")}
    again = library.import_package(folder)
    as_zip = library.import_package(zip_folder(folder, tmp_path / "bai.zip", top_folder=True))
    assert again == first == as_zip
    assert {p: p.stat().st_mtime_ns for p in stored.rglob("*")} == before
    assert len(library.list()) == 1


def test_concurrent_imports_of_one_package_store_it_once(samples: dict[str, Path], tmp_path: Path) -> None:
    library = LessonLibrary(tmp_path / "lessons")
    with ThreadPoolExecutor(4) as pool:
        records = list(pool.map(library.import_package, [samples["chuyen-dong-thang-10"]] * 4))
    assert len({r.hash for r in records}) == 1
    assert len(library.list()) == 1
    assert list((tmp_path / "lessons" / ".incoming").iterdir()) == []


def test_invalid_package_leaves_nothing_behind(
    write_folder: WriteFolder, manifest: dict[str, Any], tmp_path: Path
) -> None:
    manifest["steps"][1]["correct"] = ["a", "b"]
    library = LessonLibrary(tmp_path / "lessons")
    with pytest.raises(LessonError, match=r"thu-nghiem/lesson.json: steps\[1\].correct"):
        library.import_package(write_folder(manifest))
    assert library.list() == []
    assert not (tmp_path / "lessons").exists()


def test_open_by_id_hash_or_prefix_and_serve_assets(samples: dict[str, Path], tmp_path: Path) -> None:
    library = LessonLibrary(tmp_path / "lessons")
    record = library.import_package(samples["vong-tuan-hoan-nuoc-aquaponics"])
    for key in (record.id, record.hash, record.hash[:8]):
        assert library.open(key).record == record
    lesson = library.open(record.id)
    assert lesson.manifest.title == record.title
    slide = lesson.asset_path("slides/03-duong-di-cua-nuoc.svg")
    original = samples["vong-tuan-hoan-nuoc-aquaponics"] / "slides/03-duong-di-cua-nuoc.svg"
    assert slide.read_bytes() == original.read_bytes()
    assert lesson.asset("slides/03-duong-di-cua-nuoc.svg").size == original.stat().st_size


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("lesson.json", "not a file of this lesson"),
        ("../record.json", "goes outside the package"),
        ("/etc/passwd", "is an absolute path"),
        ("slides/khong-co.svg", "not a file of this lesson"),
    ],
)
def test_only_package_files_are_served(samples: dict[str, Path], tmp_path: Path, name: str, message: str) -> None:
    library = LessonLibrary(tmp_path / "lessons")
    library.import_package(samples["chuyen-dong-thang-10"])
    lesson = library.open("chuyen-dong-thang-10")
    with pytest.raises(LessonError, match=message):
        lesson.asset_path(name)


def test_unknown_lesson(tmp_path: Path) -> None:
    with pytest.raises(LessonError, match="no such lesson in the library"):
        LessonLibrary(tmp_path / "lessons").open("khong-co")


def test_new_version_is_kept_beside_the_old_and_opened_by_id(
    write_folder: WriteFolder, manifest: dict[str, Any], tmp_path: Path
) -> None:
    library = LessonLibrary(tmp_path / "lessons")
    old = library.import_package(write_folder(manifest, name="v1"))
    manifest["version"] = "1.1"
    manifest["title"] = "Bài thử (sửa)"
    new = library.import_package(write_folder(manifest, name="v2"))
    assert old.hash != new.hash
    assert [r.version for r in library.list()] == ["1.0", "1.1"]
    assert library.open("thu-nghiem").record == new
    assert library.open(old.hash).manifest.version == "1.0"
    library.remove(new.hash)
    assert library.open("thu-nghiem").record == old


def test_verify_finds_a_damaged_file(samples: dict[str, Path], tmp_path: Path) -> None:
    library = LessonLibrary(tmp_path / "lessons")
    record = library.import_package(samples["chuyen-dong-thang-10"])
    assert library.verify(record.id) == record
    damaged = tmp_path / "lessons" / record.hash / "lesson" / "slides" / "04-cong-thuc.svg"
    damaged.write_bytes(damaged.read_bytes().replace(b"v = v", b"v = 0"))
    with pytest.raises(LessonError) as caught:
        library.verify(record.id)
    assert [str(p) for p in caught.value.problems] == [
        "chuyen-dong-thang-10/slides/04-cong-thuc.svg: content changed since import"
    ]


def test_leftovers_of_a_crashed_import_are_swept_and_never_listed(samples: dict[str, Path], tmp_path: Path) -> None:
    root = tmp_path / "lessons"
    crashed = root / ".incoming" / "import-crashed"
    (crashed / "lesson").mkdir(parents=True)
    (crashed / "record.json").write_text(json.dumps({"id": "nua-chung"}))
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(crashed, (day_ago, day_ago))
    library = LessonLibrary(root)
    assert library.list() == []
    library.import_package(samples["chuyen-dong-thang-10"])
    assert not crashed.exists()
    assert [r.id for r in library.list()] == ["chuyen-dong-thang-10"]


def test_a_damaged_record_is_skipped_not_fatal(samples: dict[str, Path], tmp_path: Path) -> None:
    library = LessonLibrary(tmp_path / "lessons")
    water = library.import_package(samples["vong-tuan-hoan-nuoc-aquaponics"])
    motion = library.import_package(samples["chuyen-dong-thang-10"])
    (tmp_path / "lessons" / water.hash / "record.json").write_text("{ bị hỏng")
    assert library.list() == [motion]


def test_reimport_repairs_a_damaged_copy(samples: dict[str, Path], tmp_path: Path) -> None:
    library = LessonLibrary(tmp_path / "lessons")
    record = library.import_package(samples["chuyen-dong-thang-10"])
    (tmp_path / "lessons" / record.hash / "record.json").unlink()
    (tmp_path / "lessons" / record.hash / "lesson" / "slides" / "01-gioi-thieu.svg").unlink()
    assert library.list() == []
    repaired = library.import_package(samples["chuyen-dong-thang-10"])
    assert repaired.hash == record.hash
    assert library.verify(record.id) == repaired

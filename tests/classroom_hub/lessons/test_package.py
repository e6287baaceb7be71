"""Loading packages from folders and zips: everything unsafe or incomplete is refused by name."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from classroom_hub.lessons import LessonError, PackageLimits, load_package

WriteFolder = Callable[..., Path]
ZipFolder = Callable[..., Path]
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 9"><rect width="16" height="9"/></svg>'


def problems(source: Path, limits: PackageLimits | None = None) -> list[str]:
    with pytest.raises(LessonError) as caught:
        load_package(source, limits or PackageLimits())
    return [str(p) for p in caught.value.problems]


def write_zip(target: Path, entries: dict[str, bytes], manifest: dict[str, Any] | None = None) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        if manifest is not None:
            archive.writestr("lesson.json", json.dumps(manifest))
        for name, data in entries.items():
            archive.writestr(name, data)
    return target


def test_every_sample_is_valid(samples: dict[str, Path]) -> None:
    assert set(samples) == {"vong-tuan-hoan-nuoc-aquaponics", "chuyen-dong-thang-10", "xem-mo-hinh-phan-tu-nuoc"}
    for folder in samples.values():
        package = load_package(folder)
        assert package.manifest.language == "vi"
        assert package.name == folder.name


def test_pointing_at_the_manifest_loads_its_folder(samples: dict[str, Path]) -> None:
    folder = samples["chuyen-dong-thang-10"]
    assert load_package(folder / "lesson.json").content_hash == load_package(folder).content_hash


def test_hash_is_the_sha256_of_a_sha256sum_listing(samples: dict[str, Path]) -> None:
    """The documented recipe: anyone can recompute a package's hash with coreutils."""
    folder = samples["chuyen-dong-thang-10"]
    listing = subprocess.run(
        "find . -type f | sed 's|^\\./||' | LC_ALL=C sort | xargs -d '\\n' sha256sum",
        shell=True,
        cwd=folder,
        check=True,
        capture_output=True,
        env={**os.environ, "LC_ALL": "C"},
    ).stdout
    assert load_package(folder).content_hash == hashlib.sha256(listing).hexdigest()


def test_same_content_as_folder_or_zip_has_the_same_hash(
    samples: dict[str, Path], tmp_path: Path, zip_folder: ZipFolder
) -> None:
    folder = samples["vong-tuan-hoan-nuoc-aquaponics"]
    expected = load_package(folder).content_hash
    flat = load_package(zip_folder(folder, tmp_path / "phang.zip"))
    nested = load_package(zip_folder(folder, tmp_path / "long-nhau.zip", top_folder=True))
    assert flat.content_hash == nested.content_hash == expected
    assert nested.name == "vong-tuan-hoan-nuoc-aquaponics"
    assert flat.name == "phang"
    assert nested.read_bytes("slides/01-gioi-thieu.svg") == (folder / "slides/01-gioi-thieu.svg").read_bytes()


def test_zip_from_a_mac_with_its_litter(samples: dict[str, Path], tmp_path: Path, zip_folder: ZipFolder) -> None:
    folder = samples["chuyen-dong-thang-10"]
    source = zip_folder(folder, tmp_path / "mac.zip", top_folder=True)
    with zipfile.ZipFile(source, "a") as archive:
        archive.writestr("__MACOSX/chuyen-dong-thang-10/._lesson.json", b"\0\5\26\7")
        archive.writestr("chuyen-dong-thang-10/.DS_Store", b"\0")
    assert load_package(source).content_hash == load_package(folder).content_hash


def test_any_change_changes_the_hash(write_folder: WriteFolder, manifest: dict[str, Any]) -> None:
    first = load_package(write_folder(manifest, name="a")).content_hash
    renamed = load_package(write_folder(manifest, {"slides/01.svg": SVG, "ghi-chu.txt": b"x"}, name="b")).content_hash
    edited = load_package(write_folder(manifest, {"slides/01.svg": SVG + b" "}, name="c")).content_hash
    assert len({first, renamed, edited}) == 3


def test_hidden_and_tool_files_are_not_part_of_the_package(write_folder: WriteFolder, manifest: dict[str, Any]) -> None:
    clean = load_package(write_folder(manifest, name="sach"))
    messy = write_folder(
        manifest,
        {"slides/01.svg": SVG, ".DS_Store": b"\0", "slides/Thumbs.db": b"\0", ".git/HEAD": b"ref"},
        name="lon-xon",
    )
    assert load_package(messy).content_hash == clean.content_hash


def test_bad_json_names_the_manifest(write_folder: WriteFolder) -> None:
    assert problems(write_folder(b'{"id": "x",}')) == [
        "thu-nghiem/lesson.json: line 1, column 12: not valid JSON: Expecting property name enclosed in double quotes"
    ]


def test_missing_manifest(tmp_path: Path) -> None:
    (tmp_path / "bai").mkdir()
    assert problems(tmp_path / "bai") == [
        "bai/lesson.json: missing: a lesson package needs lesson.json at its top level"
    ]


def test_missing_asset_names_file_and_field(write_folder: WriteFolder, manifest: dict[str, Any]) -> None:
    assert problems(write_folder(manifest, files={})) == ["thu-nghiem/slides/01.svg: steps[0].image: missing"]


def test_missing_asset_suggests_the_right_case(write_folder: WriteFolder, manifest: dict[str, Any]) -> None:
    folder = write_folder(manifest, files={"Slides/01.SVG": SVG})
    assert problems(folder) == [
        "thu-nghiem/slides/01.svg: steps[0].image: missing (there is 'Slides/01.SVG'; names are case-sensitive)"
    ]


def test_unknown_step_kind_in_a_package(write_folder: WriteFolder, manifest: dict[str, Any]) -> None:
    manifest["steps"][1]["kind"] = "quizz"
    assert problems(write_folder(manifest)) == [
        "thu-nghiem/lesson.json: steps[1]: unknown step kind 'quizz'; "
        "known: slide, video, quiz, poll, vr_scene, experiment, pdf, model"
    ]


def test_single_choice_with_two_correct_answers(write_folder: WriteFolder, manifest: dict[str, Any]) -> None:
    manifest["steps"][1]["correct"] = ["a", "b"]
    assert problems(write_folder(manifest)) == [
        "thu-nghiem/lesson.json: steps[1].correct: "
        "a single_choice question needs exactly one correct answer, got 2 (a, b)"
    ]


def test_zip_with_path_traversal_is_refused(tmp_path: Path, manifest: dict[str, Any]) -> None:
    source = write_zip(tmp_path / "doc.zip", {"slides/01.svg": SVG, "../x": b"owned"}, manifest)
    assert problems(source) == ["doc.zip: ../x: '../x' goes outside the package ('..')"]
    assert not (tmp_path / "x").exists()


def test_zip_with_absolute_path_is_refused(tmp_path: Path, manifest: dict[str, Any]) -> None:
    source = write_zip(tmp_path / "doc.zip", {"slides/01.svg": SVG, "/tmp/x.svg": SVG}, manifest)
    assert problems(source) == [
        "doc.zip: /tmp/x.svg: '/tmp/x.svg' is an absolute path; give it relative to the package folder"
    ]


def test_zip_with_a_symlink_is_refused(tmp_path: Path, manifest: dict[str, Any]) -> None:
    source = write_zip(tmp_path / "doc.zip", {"slides/01.svg": SVG}, manifest)
    link = zipfile.ZipInfo("slides/02.svg")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(source, "a") as archive:
        archive.writestr(link, "/etc/passwd")
    assert problems(source) == ["doc.zip: slides/02.svg: is a symbolic link; a zip may only hold plain files"]


def test_zip_bomb_is_refused_before_extraction(tmp_path: Path, manifest: dict[str, Any]) -> None:
    source = write_zip(tmp_path / "bom.zip", {"slides/01.svg": SVG, "video/bom.mp4": bytes(64 << 20)}, manifest)
    assert source.stat().st_size < 200_000
    [problem] = problems(source)
    assert problem.startswith("bom.zip: video/bom.mp4: expands ")
    assert problem.endswith(f":1 ({64 << 20} bytes): refused as a zip bomb")


def test_oversized_file_in_zip_and_in_folder(
    tmp_path: Path, write_folder: WriteFolder, manifest: dict[str, Any]
) -> None:
    limits = PackageLimits(max_file_bytes=10_000)
    big = os.urandom(20_000)
    source = write_zip(tmp_path / "to.zip", {"slides/01.svg": SVG, "slides/to.png": big}, manifest)
    assert problems(source, limits) == ["to.zip: slides/to.png: is 20000 bytes, more than the limit of 10000"]
    folder = write_folder(manifest, {"slides/01.svg": SVG, "slides/to.png": big})
    assert problems(folder, limits) == ["thu-nghiem/slides/to.png: is 20000 bytes, more than the limit of 10000"]


def test_too_much_in_total(tmp_path: Path, manifest: dict[str, Any]) -> None:
    files = {f"slides/{i:02d}.svg": b"<svg/>" + bytes(3994) for i in range(1, 6)}
    source = write_zip(tmp_path / "nhieu.zip", files, manifest)
    assert problems(source, PackageLimits(max_total_bytes=10_000)) == [
        f"nhieu.zip: expands to {20_000 + len(json.dumps(manifest))} bytes, more than the limit of 10000"
    ]


def test_too_many_files(tmp_path: Path, manifest: dict[str, Any]) -> None:
    source = write_zip(tmp_path / "vun.zip", {f"x/{i}.txt": b"" for i in range(30)}, manifest)
    assert problems(source, PackageLimits(max_files=20)) == ["vun.zip: holds 31 files, more than the limit of 20"]


def test_symlink_escaping_a_folder_is_refused(
    tmp_path: Path, write_folder: WriteFolder, manifest: dict[str, Any]
) -> None:
    secret = tmp_path / "bi-mat.svg"
    secret.write_bytes(SVG)
    folder = write_folder(manifest, files={})
    (folder / "slides").mkdir()
    (folder / "slides/01.svg").symlink_to(secret)
    assert problems(folder) == [
        "thu-nghiem/slides/01.svg: is a link pointing outside the package",
        "thu-nghiem/slides/01.svg: steps[0].image: missing",
    ]


def test_symlink_inside_a_folder_is_followed(write_folder: WriteFolder, manifest: dict[str, Any]) -> None:
    folder = write_folder(manifest, files={"slides/goc.svg": SVG})
    (folder / "slides/01.svg").symlink_to("goc.svg")
    assert load_package(folder).read_bytes("slides/01.svg") == SVG


def test_not_a_zip(tmp_path: Path) -> None:
    (tmp_path / "bai.zip").write_bytes(b"PK not really")
    assert problems(tmp_path / "bai.zip") == [
        "bai.zip: not a lesson folder nor a valid .zip file (File is not a zip file)"
    ]
    assert problems(tmp_path / "khong-co") == [f"{tmp_path / 'khong-co'}: not found"]


def test_html_slide_must_not_load_from_the_internet(write_folder: WriteFolder, manifest: dict[str, Any]) -> None:
    manifest["steps"][0] = {"id": "html", "kind": "slide", "html": "slides/trang.html"}
    page = b"""<!doctype html><html><head>
<link rel="stylesheet" href="https://cdn.example.org/bootstrap.css">
<link rel="stylesheet" href="kieu.css"><style>body { background: url('nen.png') }</style>
</head><body><img src="hinh/cay.svg"><img src="../../ngoai.png"><img src="data:image/png;base64,AAAA">
<a href="https://vi.wikipedia.org/wiki/Aquaponics">doc them</a><script src="//cdn.example.org/x.js"></script>
</body></html>"""
    folder = write_folder(manifest, {"slides/trang.html": page, "slides/kieu.css": b"", "slides/hinh/cay.svg": SVG})
    assert problems(folder) == [
        "thu-nghiem/slides/trang.html: loads 'https://cdn.example.org/bootstrap.css' from the network; "
        "a lesson must play offline, put the file in the package",
        "thu-nghiem/slides/trang.html: refers to 'nen.png', which is missing",
        "thu-nghiem/slides/trang.html: refers to '../../ngoai.png', outside the package",
        "thu-nghiem/slides/trang.html: loads '//cdn.example.org/x.js' from the network; "
        "a lesson must play offline, put the file in the package",
    ]


def test_copy_into_detects_a_source_changed_after_checking(
    tmp_path: Path, write_folder: WriteFolder, manifest: dict[str, Any]
) -> None:
    folder = write_folder(manifest)
    package = load_package(folder)
    (folder / "slides/01.svg").write_bytes(SVG.replace(b"16", b"32"))
    (tmp_path / "dich").mkdir()
    with pytest.raises(LessonError, match=r"thu-nghiem/slides/01.svg: changed while being imported"):
        package.copy_into(tmp_path / "dich")

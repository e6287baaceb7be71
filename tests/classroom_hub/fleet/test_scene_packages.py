"""Scene packages: what the library accepts, how it names what is wrong, the sample scene, the CLI."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from classroom_hub.cli import main
from classroom_hub.fleet.scenes.package import SceneError, check_package
from classroom_hub.fleet.scenes.shelf import SceneShelf, build_package, sample_folders, stock_shelf
from classroom_hub.lessons import LessonLibrary, sample_packages
from classroom_hub.lessons.manifest import VrSceneStep, parse_manifest

MANIFEST: dict[str, Any] = {
    "id": "vinaponics.vr.water-cycle",
    "scene_id": "water-cycle",
    "title": {"vi": "Vòng tuần hoàn nước", "en": "The water cycle"},
    "platform": "android-vr",
}


def scene_zip(path: Path, manifest: Any = MANIFEST, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        if manifest is not None:
            raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest, ensure_ascii=False).encode()
            archive.writestr("scene.json", raw)
        archive.writestr("water.gltf", b'{"asset": {"version": "2.0"}}')
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(SceneError) as caught:
        check_package(path)
    return caught.value.problems


def test_a_good_package_is_stored_by_the_hash_of_its_bytes_and_listed_with_its_titles(tmp_path: Path) -> None:
    package = scene_zip(tmp_path / "water.zip")
    shelf = SceneShelf(tmp_path / "scenes")
    scene = shelf.import_package(package)
    assert scene.sha256 == hashlib.sha256(package.read_bytes()).hexdigest()
    assert (scene.content_id, scene.scene, scene.platform, scene.size) == (
        "vinaponics.vr.water-cycle", "water-cycle", "android-vr", package.stat().st_size,
    )  # fmt: skip
    assert scene.titles == {"vi": "Vòng tuần hoàn nước", "en": "The water cycle"}
    assert (tmp_path / "scenes" / scene.sha256).read_bytes() == package.read_bytes()
    assert shelf.import_package(package) == scene  # the same content again changes nothing
    assert [s.sha256 for s in shelf.list()] == [scene.sha256]
    assert not [p for p in (tmp_path / "scenes").iterdir() if p.name.startswith(".incoming")]


def test_bad_packages_are_refused_with_every_problem_named_by_file_and_place(tmp_path: Path) -> None:
    (tmp_path / "notes.zip").write_bytes(b"this is not a zip")
    assert problems(tmp_path / "notes.zip")[0].startswith("notes.zip: not a zip file")

    assert problems(scene_zip(tmp_path / "none.zip", None)) == ["none.zip: no scene.json"]
    nested = scene_zip(tmp_path / "nested.zip", None, {"farm/scene.json": b"{}"})
    assert problems(nested) == [
        "nested.zip: no scene.json (there is 'farm/scene.json'; it must be at the top of the zip)"
    ]

    assert problems(scene_zip(tmp_path / "json.zip", b'{"id": "x",\n "title": }')) == [
        "json.zip/scene.json: line 2, column 11: not valid JSON: Expecting value"
    ]
    bad = {**MANIFEST, "platform": "hololens", "title": {"en": "Only English"}, "colour": "blue"}
    assert sorted(problems(scene_zip(tmp_path / "fields.zip", bad))) == [
        "fields.zip/scene.json: colour: not a field of scene.json",
        "fields.zip/scene.json: platform: unknown platform 'hololens'; known: android-vr, android-ar, webxr",
        "fields.zip/scene.json: title.vi: Field required",
    ]
    escape = scene_zip(tmp_path / "escape.zip", extra={"../../etc/cron.d/x": b"* * * * * root sh"})
    assert problems(escape) == ["escape.zip: ../../etc/cron.d/x: '../../etc/cron.d/x' goes outside the package ('..')"]


def test_a_zip_bomb_is_refused_before_anything_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("scene.json", json.dumps(MANIFEST))
        archive.writestr("big.bin", b"\0" * (64 << 20))
    shelf = SceneShelf(tmp_path / "scenes")
    with pytest.raises(SceneError) as caught:
        shelf.import_package(path)
    assert caught.value.problems[0].startswith("bomb.zip: big.bin: expands ")
    assert caught.value.problems[0].endswith("refused as a zip bomb")
    assert shelf.list() == []


def test_the_sample_scene_is_the_one_the_sample_lessons_vr_step_names(tmp_path: Path) -> None:
    # Built byte for byte the same every time, so the lesson can carry its SHA-256.
    (folder,) = sample_folders()
    first = build_package(folder, tmp_path / "a.zip").read_bytes()
    assert build_package(folder, tmp_path / "b.zip").read_bytes() == first
    assert len(first) < 16 * 1024  # a few KB in the repository, no big binaries
    shelf = SceneShelf(tmp_path / "scenes")
    (scene,) = stock_shelf(shelf)
    steps = [
        step
        for lesson in sample_packages()
        for step in parse_manifest((lesson / "lesson.json").read_bytes(), "lesson.json").steps
        if isinstance(step, VrSceneStep)
    ]
    assert steps, "a sample lesson has a VR step"
    for step in steps:
        assert (step.sha256, step.content_id, step.scene_id) == (scene.sha256, scene.content_id, scene.scene)


def test_the_cli_imports_a_scene_and_a_lesson_with_its_scenes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    room = tmp_path / "room.toml"
    room.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[room]\nschool_code = "THCS-DEMO"\nid = "p201"\nname = "P201"\n',
        encoding="utf-8",
    )
    assert main(["scene", "import", str(scene_zip(tmp_path / "water.zip")), "-c", str(room)]) == 0
    assert "stored vinaponics.vr.water-cycle 1 (android-vr," in capsys.readouterr().out
    bad = scene_zip(tmp_path / "bad.zip", {**MANIFEST, "platform": "quest"})
    assert main(["scene", "import", str(bad), "-c", str(room)]) == 1
    err = capsys.readouterr().err
    assert "bad.zip: 1 problem(s), nothing stored:" in err and "bad.zip/scene.json: platform: unknown platform" in err

    # A lesson package with a scenes/ folder brings its scenes along; a bad one stores nothing.
    lesson = tmp_path / "lesson"
    shutil.copytree(sample_packages()[-1], lesson)
    (lesson / "scenes").mkdir()
    scene_zip(lesson / "scenes" / "farm.zip", {**MANIFEST, "id": "vinaponics.vr.farm"})
    assert main(["lessons", "import", str(lesson), "-c", str(room)]) == 0
    assert "with scene vinaponics.vr.farm (android-vr," in capsys.readouterr().out
    scene_zip(lesson / "scenes" / "farm.zip", {**MANIFEST, "title": {}})
    (lesson / "notes.txt").write_text("a new version of the lesson", encoding="utf-8")
    assert main(["lessons", "import", str(lesson), "-c", str(room)]) == 1
    err = capsys.readouterr().err
    lesson_id = json.loads((lesson / "lesson.json").read_text(encoding="utf-8"))["id"]
    assert "nothing stored" in err and f"{lesson_id}/scenes/farm.zip/scene.json: title.vi" in err
    assert main(["scene", "list", "-c", str(room)]) == 0
    listed = capsys.readouterr().out
    assert "vinaponics.vr.water-cycle" in listed and "vinaponics.vr.farm " in listed
    assert len(LessonLibrary(tmp_path / "data" / "lessons").list()) == 1  # the second version was not kept

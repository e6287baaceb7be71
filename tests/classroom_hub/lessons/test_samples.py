"""The two sample lessons: slides that render, answers that mark right."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from classroom_hub.lessons import QuizStep, SlideStep, is_correct, load_package


@pytest.mark.parametrize("name", ["vong-tuan-hoan-nuoc-aquaponics", "chuyen-dong-thang-10"])
def test_every_slide_is_well_formed(samples: dict[str, Path], name: str) -> None:
    package = load_package(samples[name])
    slides = [s for s in package.manifest.steps if isinstance(s, SlideStep)]
    assert len(slides) >= 5
    for slide in slides:
        if slide.image is not None:
            root = ET.fromstring(package.read_bytes(slide.image))
            assert root.tag == "{http://www.w3.org/2000/svg}svg"
            assert root.get("viewBox") == "0 0 1280 720"
            assert slide.alt, f"{slide.id} needs an alt text"
        else:
            assert slide.html is not None
            assert '<html lang="vi">' in package.read_bytes(slide.html).decode("utf-8")


def test_aquaponics_lesson_has_every_required_part(samples: dict[str, Path]) -> None:
    lesson = load_package(samples["vong-tuan-hoan-nuoc-aquaponics"]).manifest
    kinds = [s.kind for s in lesson.steps]
    assert (lesson.grade, lesson.subject) == (7, "natural_science")
    assert kinds.count("quiz") == 4 and kinds.count("poll") == 2
    assert "vr_scene" in kinds
    experiment = next(s for s in lesson.steps if s.kind == "experiment")
    assert experiment.sensors == ["ph", "water_temp"]
    nitrate = lesson.step("cau-4-nitrat")
    assert isinstance(nitrate, QuizStep)
    assert is_correct(nitrate, "Nitrát")
    assert is_correct(nitrate, "NO3-")
    assert not is_correct(nitrate, "amoniac")


def test_physics_numeric_questions_mark_the_worked_answers(samples: dict[str, Path]) -> None:
    lesson = load_package(samples["chuyen-dong-thang-10"]).manifest
    assert (lesson.grade, lesson.subject) == (10, "physics")
    speed, braking = lesson.step("cau-3-van-toc"), lesson.step("cau-5-ham-phanh")
    assert isinstance(speed, QuizStep) and isinstance(braking, QuizStep)
    # v = v0 + a t = 0 + 2 * 10 ; v^2 - v0^2 = 2 a d  ->  d = 20^2 / (2 * 4)
    assert is_correct(speed, "20") and is_correct(speed, "20 m/s") and not is_correct(speed, "200")
    assert is_correct(braking, "50") and is_correct(braking, "50 m") and not is_correct(braking, "100")

"""lesson.json: every rule an author can break is reported with the file and the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from classroom_hub.lessons import LessonError, ModelStep, PdfStep, QuizStep, SlideStep, parse_manifest

FILE = "thu-nghiem/lesson.json"


def problems_of(manifest: dict[str, Any] | bytes) -> list[str]:
    data = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    with pytest.raises(LessonError) as caught:
        parse_manifest(data, FILE)
    return [str(p) for p in caught.value.problems]


def test_valid_manifest_gives_typed_steps(manifest: dict[str, Any]) -> None:
    lesson = parse_manifest(json.dumps(manifest).encode(), FILE)
    assert isinstance(lesson.steps[0], SlideStep)
    assert isinstance(lesson.steps[1], QuizStep)
    assert lesson.assets() == [("steps[0].image", "slides/01.svg")]
    assert lesson.step("cau-1").id == "cau-1"


def test_byte_order_mark_from_notepad_is_accepted(manifest: dict[str, Any]) -> None:
    lesson = parse_manifest(b"\xef\xbb\xbf" + json.dumps(manifest).encode(), FILE)
    assert lesson.id == "thu-nghiem"


def test_bad_json_names_line_and_column() -> None:
    assert problems_of(b'{\n  "id": "x",\n  "title": \n}') == [
        f"{FILE}: line 4, column 1: not valid JSON: Expecting value"
    ]


def test_duplicate_key_is_refused(manifest: dict[str, Any]) -> None:
    text = json.dumps(manifest).replace('"grade": 7', '"grade": 7, "grade": 8')
    assert problems_of(text.encode()) == [f"{FILE}: not valid JSON: key 'grade' appears twice in the same object"]


def test_not_utf8_is_named() -> None:
    assert problems_of('{"title": "Bài"}'.encode("cp1258")) == [f"{FILE}: byte 12: not UTF-8 text"]


def test_single_choice_with_two_correct_answers(manifest: dict[str, Any]) -> None:
    manifest["steps"][1]["correct"] = ["a", "b"]
    assert problems_of(manifest) == [
        f"{FILE}: steps[1].correct: a single_choice question needs exactly one correct answer, got 2 (a, b)"
    ]


def test_correct_answer_must_be_a_choice(manifest: dict[str, Any]) -> None:
    manifest["steps"][1]["correct"] = ["c"]
    assert problems_of(manifest) == [f"{FILE}: steps[1].correct[0]: 'c' is not one of the choices (a, b)"]


def test_duplicate_choice_ids(manifest: dict[str, Any]) -> None:
    manifest["steps"][1]["choices"][1]["id"] = "a"
    assert problems_of(manifest) == [f"{FILE}: steps[1].choices[1].id: duplicate choice id 'a' (also choices[0])"]


def test_unknown_step_kind(manifest: dict[str, Any]) -> None:
    manifest["steps"].append({"id": "x", "kind": "hologram"})
    assert problems_of(manifest) == [
        f"{FILE}: steps[2]: unknown step kind 'hologram'; "
        "known: slide, video, quiz, poll, vr_scene, experiment, pdf, model"
    ]


def test_missing_kind(manifest: dict[str, Any]) -> None:
    manifest["steps"].append({"id": "x"})
    assert problems_of(manifest) == [
        f"{FILE}: steps[2]: missing 'kind' (one of: slide, video, quiz, poll, vr_scene, experiment, pdf, model)"
    ]


def test_typo_in_a_field_name(manifest: dict[str, Any]) -> None:
    manifest["steps"][1]["ponts"] = 3
    assert problems_of(manifest) == [f"{FILE}: steps[1].ponts: unknown field (a typo?)"]


def test_duplicate_step_ids(manifest: dict[str, Any]) -> None:
    manifest["steps"][1]["id"] = "mo-dau"
    assert problems_of(manifest) == [f"{FILE}: steps[1].id: duplicate step id 'mo-dau' (also steps[0])"]


def test_grade_out_of_range_and_as_text(manifest: dict[str, Any]) -> None:
    manifest["grade"] = 13
    assert problems_of(manifest) == [f"{FILE}: grade: Input should be less than or equal to 12"]
    manifest["grade"] = "7"
    assert problems_of(manifest) == [f"{FILE}: grade: Input should be a valid integer"]


def test_every_problem_is_reported_at_once(manifest: dict[str, Any]) -> None:
    del manifest["title"]
    manifest["steps"][0]["image"] = "../ngoai.svg"
    manifest["steps"][1]["correct"] = []
    assert problems_of(manifest) == [
        f"{FILE}: title: Field required",
        f"{FILE}: steps[0].image: '../ngoai.svg' goes outside the package ('..')",
        f"{FILE}: steps[1].correct: a single_choice question needs exactly one correct answer, got 0",
    ]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/etc/passwd.png", "is an absolute path"),
        ("C:/anh.png", "contains ':'"),
        ("slides\\01.png", "contains a backslash"),
        ("slides/.an.png", "hidden or system file"),
        ("slides/01.bmp", "is not an image"),
    ],
)
def test_asset_paths_must_stay_inside_the_package(manifest: dict[str, Any], path: str, reason: str) -> None:
    manifest["steps"][0]["image"] = path
    [problem] = problems_of(manifest)
    assert problem.startswith(f"{FILE}: steps[0].image: ")
    assert reason in problem


def test_slide_needs_exactly_one_source(manifest: dict[str, Any]) -> None:
    manifest["steps"][0]["html"] = "slides/01.html"
    assert problems_of(manifest) == [
        f"{FILE}: steps[0]: a slide needs exactly one of 'image', 'pdf' or 'html', got ['image', 'html']"
    ]


def test_pdf_slide_needs_a_page(manifest: dict[str, Any]) -> None:
    manifest["steps"][0] = {"id": "pdf", "kind": "slide", "pdf": "bai-giang.pdf"}
    assert problems_of(manifest) == [f"{FILE}: steps[0].page: a PDF slide needs 'page' (1 = first page)"]


def test_pdf_step_pages_and_model_step_are_typed_with_their_files(manifest: dict[str, Any]) -> None:
    manifest["steps"] = [
        {"id": "doc", "kind": "pdf", "file": "tai-lieu/bai-giang.pdf", "pages": [2, 4]},
        {"id": "tim", "kind": "model", "file": "mo-hinh/tim.glb", "poster": "mo-hinh/tim.png", "alt": "Quả tim"},
    ]
    lesson = parse_manifest(json.dumps(manifest).encode(), FILE)
    assert isinstance(lesson.steps[0], PdfStep) and lesson.steps[0].pages == [2, 4]
    assert isinstance(lesson.steps[1], ModelStep)
    assert lesson.assets() == [
        ("steps[0].file", "tai-lieu/bai-giang.pdf"),
        ("steps[1].file", "mo-hinh/tim.glb"),
        ("steps[1].poster", "mo-hinh/tim.png"),
    ]


def test_pdf_step_pages_must_be_a_first_and_last_in_order(manifest: dict[str, Any]) -> None:
    manifest["steps"] = [
        {"id": "a", "kind": "pdf", "file": "bai.pdf", "pages": [5, 3]},
        {"id": "b", "kind": "pdf", "file": "bai.pdf", "pages": [1, 2, 3]},
        {"id": "c", "kind": "pdf", "file": "bai.pdf", "pages": [0, 2]},
        {"id": "d", "kind": "pdf", "file": "bai.docx"},
    ]
    assert problems_of(manifest) == [
        f"{FILE}: steps[0].pages: the last page (3) is before the first (5)",
        f"{FILE}: steps[1].pages: List should have at most 2 items after validation, not 3",
        f"{FILE}: steps[2].pages[0]: Input should be greater than or equal to 1",
        f"{FILE}: steps[3].file: 'bai.docx' is not a PDF file (expected .pdf)",
    ]


def test_model_step_needs_a_gltf_file(manifest: dict[str, Any]) -> None:
    manifest["steps"] = [
        {"id": "a", "kind": "model", "file": "mo-hinh/tim.obj"},
        {"id": "b", "kind": "model"},
        {"id": "c", "kind": "model", "file": "https://cdn.example/tim.glb"},
        {"id": "d", "kind": "model", "file": "tim.gltf", "auto_rotate": True},
    ]
    assert problems_of(manifest) == [
        f"{FILE}: steps[0].file: 'mo-hinh/tim.obj' is not a glTF 3D model (expected .glb, .gltf)",
        f"{FILE}: steps[1].file: Field required",
        f"{FILE}: steps[2].file: 'https://cdn.example/tim.glb' contains ':' (a drive letter or URL is not a file in "
        "the package)",
        f"{FILE}: steps[3].auto_rotate: unknown field (a typo?)",
    ]


def test_video_end_after_start(manifest: dict[str, Any]) -> None:
    manifest["steps"][0] = {"id": "v", "kind": "video", "file": "video/thi-nghiem.mp4", "start_s": 30, "end_s": 10}
    assert problems_of(manifest) == [f"{FILE}: steps[0].end_s: must be after start_s (30.0 s)"]


def test_short_answer_needs_answers(manifest: dict[str, Any]) -> None:
    manifest["steps"][1] = {"id": "q", "kind": "quiz", "type": "short_answer", "prompt": "Tên chất?"}
    assert problems_of(manifest) == [
        f"{FILE}: steps[1].accepted: a short_answer question needs 'accepted' answers or a 'numeric' answer"
    ]


def test_choices_are_not_for_short_answers(manifest: dict[str, Any]) -> None:
    manifest["steps"][1]["type"] = "short_answer"
    assert problems_of(manifest) == [f"{FILE}: steps[1].choices: a short_answer question has no choices"]


def test_experiment_sensors_are_known_keys(manifest: dict[str, Any]) -> None:
    manifest["steps"].append({"id": "do", "kind": "experiment", "sensors": ["ph", "nhiet_do"]})
    [problem] = problems_of(manifest)
    assert problem.startswith(f"{FILE}: steps[2].sensors[1]: Input should be 'ph', 'water_temp'")


def test_vr_scene_needs_a_sha256(manifest: dict[str, Any]) -> None:
    manifest["steps"].append(
        {"id": "vr", "kind": "vr_scene", "scene_id": "farm", "content_id": "vr.farm", "sha256": "ABC"}
    )
    [problem] = problems_of(manifest)
    assert problem.startswith(f"{FILE}: steps[2].sha256: String should match pattern")


def test_poll_needs_two_choices(manifest: dict[str, Any]) -> None:
    manifest["steps"].append({"id": "p", "kind": "poll", "prompt": "?", "choices": [{"id": "a", "text": "A"}]})
    assert problems_of(manifest) == [f"{FILE}: steps[2].choices: needs at least 2 choices, got 1"]

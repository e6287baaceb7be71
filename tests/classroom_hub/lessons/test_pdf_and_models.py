"""PDF pages become pictures at import; PDFs and 3D models that cannot show are refused by name."""

from __future__ import annotations

import copy
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from classroom_hub.lessons import LessonError, LessonLibrary, load_package
from classroom_hub.lessons.views import public_step

from .conftest import MINIMAL
from .made_files import BLUE, GREEN, RED, make_glb, make_pdf

WriteFolder = Callable[..., Path]


def with_steps(*steps: dict[str, Any]) -> dict[str, Any]:
    manifest = copy.deepcopy(MINIMAL)
    manifest["steps"] = list(steps)
    return manifest


def problems(source: Path) -> list[str]:
    with pytest.raises(LessonError) as caught:
        load_package(source)
    return [str(p) for p in caught.value.problems]


def colour_of(path: Path) -> tuple[int, int, int]:
    with Image.open(io.BytesIO(path.read_bytes())) as image:
        assert image.width == 1600
        r, g, b = image.convert("RGB").getpixel((image.width // 2, image.height // 2))  # type: ignore[misc]
        return r, g, b


def near(colour: tuple[int, int, int], expected: tuple[float, float, float]) -> bool:
    return all(abs(c - e * 255) < 12 for c, e in zip(colour, expected, strict=True))


def test_pdf_pages_are_rendered_at_import_and_served_as_pictures(write_folder: WriteFolder, tmp_path: Path) -> None:
    folder = write_folder(
        with_steps(
            {"id": "trang-2", "kind": "slide", "pdf": "tai-lieu/bai.pdf", "page": 2},
            {"id": "ca-bai", "kind": "pdf", "file": "tai-lieu/bai.pdf"},
            {"id": "hai-trang", "kind": "pdf", "file": "tai-lieu/bai.pdf", "pages": [2, 3]},
        ),
        files={"tai-lieu/bai.pdf": make_pdf([RED, GREEN, BLUE])},
    )
    library = LessonLibrary(tmp_path / "lessons")
    record = library.import_package(folder)
    lesson = library.open(record.hash)
    assert lesson.pdf_pages == {"tai-lieu/bai.pdf": 3}

    files = "/lesson/abc.key"
    slide = public_step(lesson, 0, files)
    whole = public_step(lesson, 1, files)
    part = public_step(lesson, 2, files)
    sha = lesson.files["tai-lieu/bai.pdf"].sha256
    assert slide["image"] == f"{files}/.pages/{sha}/2.webp" and slide["pdf"] == f"{files}/tai-lieu/bai.pdf"
    assert whole["pages"] == [f"{files}/.pages/{sha}/{n}.webp" for n in (1, 2, 3)]
    assert part["pages"] == [f"{files}/.pages/{sha}/{n}.webp" for n in (2, 3)] and part["first_page"] == 2

    def served(url: str) -> Path:
        return lesson.asset_path(url.removeprefix(files + "/"))

    assert [near(colour_of(served(u)), c) for u, c in zip(whole["pages"], [RED, GREEN, BLUE], strict=True)] == [
        True,
        True,
        True,
    ]
    with pytest.raises(LessonError, match="not a page of this lesson"):
        lesson.asset_path(f".pages/{sha}/4.webp")
    with pytest.raises(LessonError, match="not a page of this lesson"):
        lesson.asset_path(f".pages/{'0' * 64}/1.webp")
    with pytest.raises(LessonError, match="not a page of this lesson"):
        lesson.asset_path(f".pages/{sha}/../../SHA256SUMS")


def test_only_the_pages_a_slide_shows_are_rendered(write_folder: WriteFolder, tmp_path: Path) -> None:
    folder = write_folder(
        with_steps({"id": "trang-3", "kind": "slide", "pdf": "bai.pdf", "page": 3}),
        files={"bai.pdf": make_pdf([RED, GREEN, BLUE])},
    )
    library = LessonLibrary(tmp_path / "lessons")
    lesson = library.open(library.import_package(folder).hash)
    pages = lesson.folder.parent / "pages" / lesson.files["bai.pdf"].sha256
    assert sorted(p.name for p in pages.glob("*.webp")) == ["3.webp"]
    with pytest.raises(LessonError, match="not a page of this lesson"):
        lesson.asset_path(f".pages/{lesson.files['bai.pdf'].sha256}/1.webp")


def test_lost_pages_are_rendered_again_when_the_lesson_is_opened(write_folder: WriteFolder, tmp_path: Path) -> None:
    folder = write_folder(
        with_steps({"id": "ca-bai", "kind": "pdf", "file": "bai.pdf"}), files={"bai.pdf": make_pdf([RED, BLUE])}
    )
    library = LessonLibrary(tmp_path / "lessons")
    record = library.import_package(folder)
    shutil.rmtree(tmp_path / "lessons" / record.hash / "pages")  # imported by a hub before pages existed
    lesson = library.open(record.hash)
    assert near(colour_of(lesson.asset_path(public_step(lesson, 0, "")["pages"][1].lstrip("/"))), BLUE)


def test_locked_damaged_and_short_pdfs_are_refused_by_name(write_folder: WriteFolder) -> None:
    folder = write_folder(
        with_steps(
            {"id": "khoa", "kind": "pdf", "file": "khoa.pdf"},
            {"id": "hong", "kind": "slide", "pdf": "hong.pdf", "page": 1},
            {"id": "ngan", "kind": "pdf", "file": "ngan.pdf", "pages": [2, 5]},
            {"id": "ngan-2", "kind": "slide", "pdf": "ngan.pdf", "page": 4},
        ),
        files={
            "khoa.pdf": make_pdf([RED], locked=True),
            "hong.pdf": b"%PDF-1.4\nnot really\n",
            "ngan.pdf": make_pdf([RED, GREEN, BLUE]),
        },
    )
    assert problems(folder) == [
        "thu-nghiem/khoa.pdf: steps[0].file: is protected by a password; save it again without one "
        "(File > Export as PDF)",
        "thu-nghiem/hong.pdf: steps[1].pdf: is not a PDF file, or it is damaged",
        "thu-nghiem/ngan.pdf: steps[2].pages: has 3 pages, no page 5",
        "thu-nghiem/ngan.pdf: steps[3].page: has 3 pages, no page 4",
    ]


def test_a_model_and_its_poster_are_served_with_their_types(write_folder: WriteFolder, tmp_path: Path) -> None:
    from classroom_hub.lessons.web_files import file_headers

    folder = write_folder(
        with_steps({"id": "khoi", "kind": "model", "file": "mo-hinh/khoi.glb", "poster": "mo-hinh/khoi.png"}),
        files={"mo-hinh/khoi.glb": make_glb(), "mo-hinh/khoi.png": b"\x89PNG\r\n\x1a\n"},
    )
    library = LessonLibrary(tmp_path / "lessons")
    lesson = library.open(library.import_package(folder).hash)
    view = public_step(lesson, 0, "/lesson/h.k")
    assert view == {
        "index": 0, "id": "khoi", "kind": "model", "title": "", "model": "/lesson/h.k/mo-hinh/khoi.glb", "alt": "",
        "poster": "/lesson/h.k/mo-hinh/khoi.png",
    }  # fmt: skip
    assert lesson.asset_path("mo-hinh/khoi.glb").read_bytes() == make_glb()
    assert file_headers("mo-hinh/khoi.glb")["Content-Type"] == "model/gltf-binary"
    assert "Content-Security-Policy" not in file_headers("khoi.glb")


def test_models_that_cannot_show_offline_are_refused_by_name(write_folder: WriteFolder) -> None:
    gltf = {
        "asset": {"version": "2.0"},
        "buffers": [{"uri": "khoi.bin", "byteLength": 4}, {"uri": "data:application/octet-stream;base64,AAAA"}],
        "images": [{"uri": "https://cdn.example/vai.png"}, {"uri": "../ngoai.png"}, {"uri": "van%20go.png"}],
    }
    folder = write_folder(
        with_steps(
            {"id": "nen", "kind": "model", "file": "nen.glb"},
            {"id": "cu", "kind": "model", "file": "cu.glb"},
            {"id": "rac", "kind": "model", "file": "rac.glb"},
            {"id": "web", "kind": "model", "file": "mo-hinh/web.gltf"},
            {"id": "thieu", "kind": "model", "file": "mo-hinh/thieu.gltf"},
        ),
        files={
            "nen.glb": make_glb(["KHR_draco_mesh_compression"]),
            "cu.glb": make_glb()[:8].replace(b"\x02", b"\x01", 1) + make_glb()[8:],
            "rac.glb": b"not a model at all, just text",
            "mo-hinh/web.gltf": json.dumps(gltf).encode(),
            "mo-hinh/thieu.gltf": json.dumps({**gltf, "images": gltf["images"][1:]}).encode(),  # type: ignore[index]
            "mo-hinh/van go.png": b"\x89PNG\r\n\x1a\n",
        },
    )
    assert problems(folder) == [
        "thu-nghiem/nen.glb: steps[0].file: is compressed with Draco, whose decoder would have to come from the "
        "internet; export it without compression",
        "thu-nghiem/cu.glb: steps[1].file: is glTF version 1; export it as glTF 2.0",
        "thu-nghiem/rac.glb: steps[2].file: is not a binary glTF (.glb) file: it does not start with 'glTF'",
        "thu-nghiem/mo-hinh/web.gltf: steps[3].file: images[0] loads 'https://cdn.example/vai.png' from the network; "
        "put the file in the package",
        "thu-nghiem/mo-hinh/thieu.gltf: steps[4].file: refers to 'khoi.bin', which is missing",
        "thu-nghiem/mo-hinh/thieu.gltf: steps[4].file: refers to '../ngoai.png', which is missing",
    ]


def test_the_model_sample_ships_the_files_made_here(samples: dict[str, Path], tmp_path: Path) -> None:
    from .made_files import make_water_molecule, make_worksheet

    folder = samples["xem-mo-hinh-phan-tu-nuoc"]
    assert (folder / "mo-hinh/phan-tu-nuoc.glb").read_bytes() == make_water_molecule()
    assert (folder / "tai-lieu/phieu-hoc-tap.pdf").read_bytes() == make_worksheet()
    library = LessonLibrary(tmp_path / "lessons")
    lesson = library.open(library.import_package(folder).hash)
    kinds = [step["kind"] for step in (public_step(lesson, i, "") for i in range(len(lesson.manifest.steps)))]
    assert kinds == ["slide", "model", "pdf", "quiz"]
    assert len(public_step(lesson, 2, "")["pages"]) == 2

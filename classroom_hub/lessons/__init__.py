"""Lesson packages: the manifest, checking a package, and the hub's library of stored lessons.

The format is documented for authors in ``docs/lesson-package.md``. Typical use::

    library = LessonLibrary(data_dir / "lessons")
    record = library.import_package(Path("water-cycle.zip"))   # LessonError if anything is wrong
    lesson = library.open(record.id)
    lesson.manifest.steps[0], lesson.asset_path("slides/01.svg")
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from classroom_hub.lessons.answers import is_correct, points_for
from classroom_hub.lessons.errors import LessonError, Problem
from classroom_hub.lessons.library import LessonLibrary, LessonRecord, StoredLesson
from classroom_hub.lessons.manifest import (
    ExperimentStep,
    Lesson,
    ModelStep,
    PdfStep,
    PollStep,
    QuizStep,
    SlideStep,
    Step,
    VideoStep,
    VrSceneStep,
    parse_manifest,
)
from classroom_hub.lessons.package import LessonPackage, PackageLimits, load_package


def sample_packages() -> list[Path]:
    """The folders of the sample lessons shipped with the hub (``make demo`` imports them)."""
    samples = Path(str(resources.files(__package__) / "samples"))
    return sorted(p for p in samples.iterdir() if (p / "lesson.json").is_file())


__all__ = [
    "ExperimentStep",
    "Lesson",
    "LessonError",
    "LessonLibrary",
    "LessonPackage",
    "LessonRecord",
    "ModelStep",
    "PackageLimits",
    "PdfStep",
    "PollStep",
    "Problem",
    "QuizStep",
    "SlideStep",
    "Step",
    "StoredLesson",
    "VideoStep",
    "VrSceneStep",
    "is_correct",
    "load_package",
    "parse_manifest",
    "points_for",
    "sample_packages",
]

"""What each screen may see of a lesson.

Tablets and the display get :func:`public_step`: the step without the teacher's notes
and without anything that gives an answer away (``correct``, ``accepted``, ``numeric``,
``explanation``). Those come with :func:`reveal_of`, only when the teacher reveals the
question. Files are referred to by URL under the run's ``files`` address,
``/lesson/<hash>.<key>/`` (see :mod:`classroom_hub.lessons.file_keys`), which serves the stored
package's assets but never ``lesson.json``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from classroom_hub.lessons.library import StoredLesson
from classroom_hub.lessons.manifest import (
    ExperimentStep,
    ModelStep,
    PdfStep,
    PollStep,
    QuizStep,
    SlideStep,
    Step,
    VideoStep,
    VrSceneStep,
)

ASSET_PREFIX = "/lesson"


def files_url(lesson_hash: str, key: str | None = None) -> str:
    """Where a lesson's files are: with the run's key for everyone in it, without for teachers."""
    return f"{ASSET_PREFIX}/{lesson_hash}" + (f".{key}" if key else "")


def asset_url(files: str, path: str) -> str:
    return f"{files}/{quote(path, safe='/')}"


def outline(lesson: StoredLesson) -> dict[str, Any]:
    """The lesson as tablets know it: titles of the steps, nothing else of them."""
    manifest = lesson.manifest
    return {
        "id": manifest.id,
        "title": manifest.title,
        "hash": lesson.record.hash,
        "subject": manifest.subject,
        "grade": manifest.grade,
        "language": manifest.language,
        "steps": [{"id": s.id, "kind": s.kind, "title": s.title} for s in manifest.steps],
    }


def public_step(lesson: StoredLesson, index: int, files: str) -> dict[str, Any]:
    """Step ``index`` as tablets and the display show it; its files under ``files`` (:func:`files_url`)."""
    step = lesson.manifest.steps[index]

    def url(path: str) -> str:
        return asset_url(files, path)

    view: dict[str, Any] = {"index": index, "id": step.id, "kind": step.kind, "title": step.title}
    if isinstance(step, SlideStep):
        if step.image is not None:
            view["image"] = url(step.image)
        elif step.html is not None:
            view["html"] = url(step.html)
        elif step.pdf is not None and step.page is not None:
            # The page as the picture rendered at import (lessons/pdf.py): Android shows no PDF itself.
            view["image"] = url(lesson.page_path(step.pdf, step.page))
            view["pdf"] = url(step.pdf)
            view["page"] = step.page
        view["alt"] = step.alt
    elif isinstance(step, PdfStep):
        first, last = step.pages or (1, lesson.pdf_pages.get(step.file, 0))
        view.update(
            pages=[url(lesson.page_path(step.file, n)) for n in range(first, last + 1)],
            first_page=first,
            pdf=url(step.file),
            alt=step.alt,
        )
    elif isinstance(step, ModelStep):
        view.update(model=url(step.file), alt=step.alt, poster=url(step.poster) if step.poster else None)
    elif isinstance(step, VideoStep):
        view.update(video=url(step.file), start_s=step.start_s, end_s=step.end_s)
        if step.captions is not None:
            view["captions"] = url(step.captions)
    elif isinstance(step, QuizStep):
        view.update(
            type=step.type,
            prompt=step.prompt,
            choices=[{"id": c.id, "text": c.text} for c in step.choices],
            points=step.points,
            time_limit_s=step.time_limit_s,
        )
        if step.image is not None:
            view["image"] = url(step.image)
    elif isinstance(step, PollStep):
        view.update(
            prompt=step.prompt,
            choices=[{"id": c.id, "text": c.text} for c in step.choices],
            allow_multiple=step.allow_multiple,
        )
    elif isinstance(step, VrSceneStep):
        view.update(scene_id=step.scene_id, duration_s=step.duration_s)
    elif isinstance(step, ExperimentStep):
        view.update(sensors=list(step.sensors), duration_s=step.duration_s, instructions=step.instructions)
    return view


def is_question(step: Step) -> bool:
    return isinstance(step, QuizStep | PollStep)


def reveal_of(step: Step) -> dict[str, Any]:
    """What the teacher's reveal adds for everyone: the right answer and the explanation."""
    out: dict[str, Any] = {"step": step.id}
    if isinstance(step, QuizStep):
        out["correct"] = list(step.correct)
        out["accepted"] = list(step.accepted[:3])
        if step.numeric is not None:
            out["numeric"] = {"value": step.numeric.value, "units": list(step.numeric.units)}
        out["explanation"] = step.explanation
    return out


def max_points(steps: list[Step]) -> int:
    return sum(s.points for s in steps if isinstance(s, QuizStep))

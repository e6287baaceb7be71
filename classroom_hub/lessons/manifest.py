"""The lesson manifest (``lesson.json``): what a lesson is, step by step.

One JSON file at the top of every package, validated by the pydantic models below.
Unknown keys are refused (``extra='forbid'``): a misspelt field is an error, not a
silently ignored setting. Rules that tie several fields together live in
``model_validator(mode='after')`` and raise :class:`FieldProblem` so the error names
the exact field (``steps[3].correct``). The format is described for authors in
``docs/lesson-package.md``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from classroom_hub.lessons.errors import LessonError, Problem
from classroom_hub.lessons.paths import check_package_path
from classroom_hub.problems import where

# Ids appear in URLs, MQTT topics and answers from tablets: keep them plain.
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# Scene and content ids belong to the headsets' content catalogue, which also uses dots and capitals.
CONTENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"

IMAGE_EXTENSIONS = (".svg", ".png", ".jpg", ".jpeg", ".webp", ".gif")
PDF_EXTENSIONS = (".pdf",)
HTML_EXTENSIONS = (".html", ".htm")
VIDEO_EXTENSIONS = (".mp4", ".webm", ".m4v", ".ogv")
CAPTION_EXTENSIONS = (".vtt",)
MODEL_EXTENSIONS = (".glb", ".gltf")

# The sensor keys a Vinaponics kit publishes (see config/examples/demo.toml).
SensorKey = Literal["ph", "water_temp", "do", "ec", "level", "air_temp", "humidity", "light"]
QuestionType = Literal["single_choice", "multiple_choice", "short_answer"]
STEP_KINDS = ("slide", "video", "quiz", "poll", "vr_scene", "experiment", "pdf", "model")


class FieldProblem(ValueError):
    """A cross-field rule failed; ``field`` is the path of the field to blame, relative to the model."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _asset(extensions: tuple[str, ...], what: str) -> AfterValidator:
    def check(name: str) -> str:
        name = check_package_path(name)
        if not name.lower().endswith(extensions):
            raise ValueError(f"{name!r} is not {what} (expected {', '.join(extensions)})")
        return name

    return AfterValidator(check)


Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
ContentId = Annotated[str, StringConstraints(pattern=CONTENT_ID_PATTERN)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10000)]
ImagePath = Annotated[str, _asset(IMAGE_EXTENSIONS, "an image")]
PdfPath = Annotated[str, _asset(PDF_EXTENSIONS, "a PDF file")]
HtmlPath = Annotated[str, _asset(HTML_EXTENSIONS, "an HTML file")]
VideoPath = Annotated[str, _asset(VIDEO_EXTENSIONS, "a video file")]
CaptionPath = Annotated[str, _asset(CAPTION_EXTENSIONS, "a WebVTT caption file")]
ModelPath = Annotated[str, _asset(MODEL_EXTENSIONS, "a glTF 3D model")]


class Part(BaseModel):
    """Base of every manifest model: unknown keys are typos; parsed manifests never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(Part):
    id: Slug
    text: Text


def _check_choices(choices: list[Choice]) -> None:
    if len(choices) < 2:
        raise FieldProblem("choices", f"needs at least 2 choices, got {len(choices)}")
    seen_ids: dict[str, int] = {}
    seen_texts: dict[str, int] = {}
    for i, choice in enumerate(choices):
        if choice.id in seen_ids:
            raise FieldProblem(
                f"choices[{i}].id", f"duplicate choice id {choice.id!r} (also choices[{seen_ids[choice.id]}])"
            )
        if choice.text in seen_texts:
            raise FieldProblem(f"choices[{i}].text", f"same text as choices[{seen_texts[choice.text]}]")
        seen_ids[choice.id] = i
        seen_texts[choice.text] = i


class StepBase(Part):
    id: Slug
    title: Note = ""
    notes: Note = Field("", description="for the teacher's screen only; never sent to tablets")

    def assets(self) -> list[tuple[str, str]]:
        """``(field, path)`` for every file of the package this step needs."""
        return []


class SlideStep(StepBase):
    """One slide: an image, one page of a PDF, or an HTML page shown in a sandboxed frame."""

    kind: Literal["slide"]
    image: ImagePath | None = None
    pdf: PdfPath | None = None
    page: int | None = Field(None, ge=1, le=10000)
    html: HtmlPath | None = None
    alt: Note = Field("", description="what the slide shows, for screen readers")

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        given = [name for name in ("image", "pdf", "html") if getattr(self, name) is not None]
        if len(given) != 1:
            raise FieldProblem("", f"a slide needs exactly one of 'image', 'pdf' or 'html', got {given or 'none'}")
        if self.pdf is not None and self.page is None:
            raise FieldProblem("page", "a PDF slide needs 'page' (1 = first page)")
        if self.pdf is None and self.page is not None:
            raise FieldProblem("page", "'page' is only for PDF slides")
        return self

    def assets(self) -> list[tuple[str, str]]:
        return [(name, path) for name in ("image", "pdf", "html") if (path := getattr(self, name)) is not None]


class VideoStep(StepBase):
    kind: Literal["video"]
    file: VideoPath
    start_s: float | None = Field(None, ge=0)
    end_s: float | None = Field(None, gt=0)
    captions: CaptionPath | None = None

    @model_validator(mode="after")
    def _start_before_end(self) -> Self:
        if self.start_s is not None and self.end_s is not None and self.end_s <= self.start_s:
            raise FieldProblem("end_s", f"must be after start_s ({self.start_s} s)")
        return self

    def assets(self) -> list[tuple[str, str]]:
        found = [("file", self.file)]
        if self.captions is not None:
            found.append(("captions", self.captions))
        return found


class NumericAnswer(Part):
    """A number the answer must equal, within ``tolerance``; ``units`` the student may write after it."""

    value: float
    tolerance: float = Field(0.0, ge=0)
    units: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]] = []


class QuizStep(StepBase):
    """One question. Choice questions name their correct choices by id in ``correct``;
    short answers list ``accepted`` texts and/or a ``numeric`` answer."""

    kind: Literal["quiz"]
    type: QuestionType
    prompt: Text
    image: ImagePath | None = None
    choices: list[Choice] = Field([], max_length=12)
    correct: list[Slug] = []
    accepted: list[Text] = []
    numeric: NumericAnswer | None = None
    ignore_case: bool = True
    ignore_diacritics: bool = False
    points: int = Field(1, ge=0, le=1000)
    time_limit_s: int | None = Field(None, ge=5, le=3600)
    explanation: Note = ""

    @model_validator(mode="after")
    def _answers_fit_type(self) -> Self:
        if self.type == "short_answer":
            if self.choices:
                raise FieldProblem("choices", "a short_answer question has no choices")
            if self.correct:
                raise FieldProblem("correct", "a short_answer question lists its answers in 'accepted' or 'numeric'")
            if not self.accepted and self.numeric is None:
                raise FieldProblem("accepted", "a short_answer question needs 'accepted' answers or a 'numeric' answer")
            return self
        _check_choices(self.choices)
        if self.accepted:
            raise FieldProblem("accepted", "'accepted' is only for short_answer questions")
        if self.numeric is not None:
            raise FieldProblem("numeric", "'numeric' is only for short_answer questions")
        ids = [c.id for c in self.choices]
        for i, answer in enumerate(self.correct):
            if answer not in ids:
                raise FieldProblem(f"correct[{i}]", f"{answer!r} is not one of the choices ({', '.join(ids)})")
        if len(set(self.correct)) != len(self.correct):
            raise FieldProblem("correct", "a choice is listed twice")
        if self.type == "single_choice" and len(self.correct) != 1:
            raise FieldProblem(
                "correct",
                f"a single_choice question needs exactly one correct answer, got {len(self.correct)}"
                + (f" ({', '.join(self.correct)})" if self.correct else ""),
            )
        if self.type == "multiple_choice" and not self.correct:
            raise FieldProblem("correct", "a multiple_choice question needs at least one correct answer")
        return self

    def assets(self) -> list[tuple[str, str]]:
        return [("image", self.image)] if self.image is not None else []


class PollStep(StepBase):
    """A question without a right answer; results can be shown live."""

    kind: Literal["poll"]
    prompt: Text
    choices: list[Choice] = Field(max_length=12)
    allow_multiple: bool = False

    @model_validator(mode="after")
    def _choices(self) -> Self:
        _check_choices(self.choices)
        return self


class VrSceneStep(StepBase):
    """Launch a scene on the headsets; they play it from their cache, checked against ``sha256``."""

    kind: Literal["vr_scene"]
    scene_id: ContentId
    content_id: ContentId
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="SHA-256 of the scene bundle, lowercase hex"
    )
    duration_s: int | None = Field(None, ge=1, le=7200)


class ExperimentStep(StepBase):
    """A STEM lab step: the live readings of these sensors are shown to the class."""

    kind: Literal["experiment"]
    sensors: list[SensorKey] = Field(min_length=1)
    duration_s: int | None = Field(None, ge=1, le=7200)
    instructions: Note = ""

    @model_validator(mode="after")
    def _no_repeats(self) -> Self:
        if len(set(self.sensors)) != len(self.sensors):
            raise FieldProblem("sensors", "a sensor is listed twice")
        return self


class PdfStep(StepBase):
    """Pages of a PDF, shown as pictures the hub rendered at import (a tablet needs no PDF viewer).

    ``pages`` picks the pages, first and last included (``[3, 5]``); none: every page.
    """

    kind: Literal["pdf"]
    file: PdfPath
    pages: list[Annotated[int, Field(ge=1, le=10000)]] | None = Field(None, min_length=2, max_length=2)
    alt: Note = Field("", description="what the pages show, for screen readers")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.pages is not None and self.pages[1] < self.pages[0]:
            raise FieldProblem("pages", f"the last page ({self.pages[1]}) is before the first ({self.pages[0]})")
        return self

    def assets(self) -> list[tuple[str, str]]:
        return [("file", self.file)]


class ModelStep(StepBase):
    """A 3D model (glTF: ``.glb``, or ``.gltf`` with its files) students turn and zoom on their tablets."""

    kind: Literal["model"]
    file: ModelPath
    alt: Note = Field("", description="what the model shows, for screen readers")
    poster: ImagePath | None = Field(None, description="a picture shown while the model loads")

    def assets(self) -> list[tuple[str, str]]:
        found = [("file", self.file)]
        if self.poster is not None:
            found.append(("poster", self.poster))
        return found


Step = Annotated[
    SlideStep | VideoStep | QuizStep | PollStep | VrSceneStep | ExperimentStep | PdfStep | ModelStep,
    Field(discriminator="kind"),
]


class Lesson(Part):
    """The whole manifest."""

    format: Literal[1] = 1
    id: Slug
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    subject: Slug
    grade: int = Field(ge=1, le=12)
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
    authors: list[Text] = Field(min_length=1)
    version: Annotated[str, StringConstraints(pattern=r"^\d+(\.\d+){0,2}$")]
    description: Note = ""
    steps: list[Step] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _unique_step_ids(self) -> Self:
        seen: dict[str, int] = {}
        for i, step in enumerate(self.steps):
            if step.id in seen:
                raise FieldProblem(f"steps[{i}].id", f"duplicate step id {step.id!r} (also steps[{seen[step.id]}])")
            seen[step.id] = i
        return self

    def assets(self) -> list[tuple[str, str]]:
        """``(field path, file)`` for every file the steps refer to.

        e.g. ``("steps[0].image", "slides/01.svg")``.
        """
        return [(f"steps[{i}].{name}", path) for i, step in enumerate(self.steps) for name, path in step.assets()]

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


# --- reading ------------------------------------------------------------------------------


def parse_manifest(data: bytes, file: str) -> Lesson:
    """Parse and validate the bytes of ``lesson.json``; ``file`` names it in errors.

    Raises :class:`LessonError` listing every problem pydantic found.
    """
    try:
        text = data.decode("utf-8-sig")  # Windows Notepad writes a byte-order mark
    except UnicodeDecodeError as err:
        raise LessonError([Problem(file, f"byte {err.start}", "not UTF-8 text")]) from err
    try:
        raw = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)
    except json.JSONDecodeError as err:
        raise LessonError(
            [Problem(file, f"line {err.lineno}, column {err.colno}", f"not valid JSON: {err.msg}")]
        ) from err
    except ValueError as err:
        raise LessonError([Problem(file, "", f"not valid JSON: {err}")]) from err
    except RecursionError as err:  # the json module recurses once per [ or {
        raise LessonError([Problem(file, "", "not valid JSON: nested too deeply")]) from err
    if not isinstance(raw, dict):
        raise LessonError([Problem(file, "", "must hold one JSON object {...}")])
    try:
        # strict: JSON has real numbers and booleans, so "7" for a grade is a mistake worth naming.
        return Lesson.model_validate(raw, strict=True)
    except ValidationError as err:
        raise LessonError([_describe(error, file) for error in err.errors()]) from err


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} appears twice in the same object")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _describe(error: Any, file: str) -> Problem:
    loc = list(error["loc"])
    # pydantic puts the discriminator into the path ("steps[3].quiz.choices"): noise for an author.
    if len(loc) >= 3 and loc[0] == "steps" and isinstance(loc[1], int) and loc[2] in STEP_KINDS:
        del loc[2]
    message = str(error["msg"]).removeprefix("Value error, ")
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, FieldProblem):
        loc.extend(part for part in cause.field.replace("[", ".[").split(".") if part)
        message = cause.message
    elif error["type"] == "union_tag_invalid":
        kind = error["input"].get("kind") if isinstance(error["input"], dict) else None
        message = f"unknown step kind {kind!r}; known: {', '.join(STEP_KINDS)}"
    elif error["type"] == "union_tag_not_found":
        message = f"missing 'kind' (one of: {', '.join(STEP_KINDS)})"
    elif error["type"] == "extra_forbidden":
        message = "unknown field (a typo?)"
    return Problem(file, where(loc, ""), message)

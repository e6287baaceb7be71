"""The lessons package's one exception root and the problems it carries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from classroom_hub.errors import HubError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a lesson package, in words a content author can act on.

    ``file`` is the file concerned, prefixed with the package's name (``water-cycle/lesson.json``,
    ``water-cycle/slides/02.svg``); ``where`` is the place inside it (``steps[3].choices``,
    ``line 12, column 5``) or empty.
    """

    file: str
    where: str
    message: str

    def __str__(self) -> str:
        if self.where:
            return f"{self.file}: {self.where}: {self.message}"
        return f"{self.file}: {self.message}"


class LessonError(HubError):
    """A lesson package could not be read, validated, stored or found.

    ``problems`` lists every problem found (validation does not stop at the first one).
    """

    code = "invalid_lesson"
    http_status = 400

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

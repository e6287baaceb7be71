"""The lessons' section of the room file, ``[lessons]``: the lesson service's timing
(docs/protocol.md, section 5), overridable as ``CLASSROOM_HUB_LESSONS__BEAT_S``..."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, field_validator, model_validator

from classroom_hub.lessons.links import check_prefix
from config.options import Option

if TYPE_CHECKING:
    from config.settings import CoreSettings

SECTION = "lessons"


class Lessons(Option):
    """The lesson service's timing (docs/protocol.md, section 5): the defaults suit a classroom's Wi-Fi."""

    beat_s: float = Field(2.0, ge=0.05, le=60, description="a heartbeat to every lesson connection this often")
    dead_after_s: float = Field(6.0, gt=0, le=600, description="a connection silent this long is cut")
    screens_every_s: float = Field(0.15, ge=0.01, le=10, description="the teacher's view is redrawn at most this often")
    links: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="addresses a teacher may send to the tablets besides the hub's own pages, by prefix "
        "(https://vi.wikipedia.org/wiki/): see docs/protocol.md section 9",
    )

    @field_validator("links")
    @classmethod
    def _links(cls, value: list[str]) -> list[str]:
        return [check_prefix(prefix) for prefix in value]

    @model_validator(mode="after")
    def _beats_before_death(self) -> Lessons:
        if self.dead_after_s <= self.beat_s:
            raise ValueError("dead_after_s must be longer than beat_s (a connection is cut after missed beats)")
        return self


def lessons_of(settings: CoreSettings) -> Lessons:
    """The room's ``[lessons]`` section (its defaults when the room file has none)."""
    return settings.section(SECTION, Lessons)

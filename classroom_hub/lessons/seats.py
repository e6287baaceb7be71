"""The students of a running lesson: one seat each, and what the hub remembers about it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

# Link quality from the delay a tablet shows: round trip of a heartbeat, or how long the
# newest revision it has not acknowledged has been waiting.
GOOD_MS = 250.0
FAIR_MS = 1000.0


@dataclass
class AnswerRecord:
    id: str
    step: str
    value: str | list[str]
    correct: bool | None  # None for polls
    points: int
    elapsed_ms: int
    at: float  # wall clock
    statement: dict[str, Any] | None = field(default=None, repr=False, compare=False)  # its xAPI "answered"

    def saved(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # shallow: nothing in it changes

    @classmethod
    def restore(cls, saved: dict[str, Any]) -> AnswerRecord:
        return cls(**saved)


@dataclass
class Seat:
    """A student of the class in this lesson run, known by the roster's short id."""

    sourced_id: str
    name: str
    token: str | None = None
    client_id: str | None = None
    online: bool = False
    joins: int = 0
    leaves: int = 0
    first_joined: float | None = None  # wall clock
    joined_mono: float = 0.0
    present_s: float = 0.0
    acked_rev: int = 0
    at_step: int | None = None  # the step its tablet last confirmed showing
    rtt_ms: float | None = None
    hand: bool = False
    hand_raises: int = 0
    hand_lowers: int = 0
    answers: dict[str, AnswerRecord] = field(default_factory=dict)
    answer_ids: dict[str, str] = field(default_factory=dict)
    viewed: set[str] = field(default_factory=set)
    # What the tablet reports of itself (lessons/tablets.py), for the teacher's grid.
    visible: bool | None = None  # its page shown (False: hidden, or the app in the background)
    battery: float | None = None  # % from the browser's Battery API
    charging: bool | None = None
    device: str | None = None  # the room's device (its agent) the tablet says it is
    beat_heard: int = 0  # the last heartbeat it answered
    shown: int = 0  # the last item the teacher sent that it shows (``sent.n``)

    def saved(self) -> dict[str, Any]:
        """What survives a restart (run_store.py); who is online and how the link is, the tablet says again."""
        return {name: getattr(self, name) for name in _KEPT} | {"viewed": sorted(self.viewed)}

    def restore(self, saved: dict[str, Any]) -> None:
        for name in _KEPT:
            if name in saved:
                setattr(self, name, saved[name])
        self.viewed = set(saved.get("viewed", ()))

    @property
    def joined(self) -> bool:
        return self.joins > 0

    def state(self) -> str:
        if self.online:
            return "online"
        return "offline" if self.joined else "absent"

    def quality(self, pending_ms: float) -> str:
        """``good``, ``fair``, ``poor`` or ``offline``, from the round trip and the ack lag."""
        if not self.online:
            return "offline"
        delay = max(self.rtt_ms or 0.0, pending_ms)
        if delay < GOOD_MS:
            return "good"
        return "fair" if delay < FAIR_MS else "poor"


_KEPT = ("token", "client_id", "joins", "leaves", "first_joined", "present_s", "hand", "hand_raises", "hand_lowers",
         "shown")  # fmt: skip

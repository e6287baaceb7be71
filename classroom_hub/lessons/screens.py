"""The feed to the teacher's page and the display: the class list and live results, as changes.

With 40 tablets acknowledging every step and every heartbeat, the class list would be
resent many times a second. The feed remembers what it last sent and sends only the
students whose row changed in a way the teacher can see (state, step, answered, hand,
link quality, round trip in 50 ms steps, missed heartbeats, page shown, battery in 5 %
steps, what the teacher sent shown), and the results only when they changed. A
screen that connects gets everything once, in its welcome.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from classroom_hub.lessons.sync import frame_of

if TYPE_CHECKING:
    from classroom_hub.lessons.run import LessonRun
    from classroom_hub.lessons.seats import Seat

RTT_STEP_MS = 50.0
BATTERY_STEP = 5.0

# The grid's fields of a student (lessons/tablets.py), from the seat and the class list's row.
TabletFields = Callable[["Seat", dict[str, Any]], dict[str, Any]]


def _signature(row: dict[str, Any]) -> tuple[Any, ...]:
    rtt, battery = row.get("rtt_ms"), row.get("battery")
    return (row["state"], row["at_step"], row["behind"] > 0, row["quality"], row["hand"], row["answered"],
            row["answers"], row["points"], row["joins"], None if rtt is None else round(rtt / RTT_STEP_MS),
            row.get("visible"), None if battery is None else round(battery / BATTERY_STEP), row.get("charging"),
            row.get("missed"), row.get("shown"), row.get("device"))  # fmt: skip


class ScreenFeed:
    def __init__(self, tablet_fields: TabletFields | None = None) -> None:
        self._tablet_fields = tablet_fields
        self._run: str | None = None
        self._rows: dict[str, tuple[Any, ...]] = {}
        self._names: list[dict[str, Any]] | None = None
        self._results: dict[bool, str] = {}

    def _follow(self, run: LessonRun) -> None:
        if run.id != self._run:
            self._run = run.id
            self._rows, self._names, self._results = {}, None, {}

    def welcome(self, run: LessonRun, *, teacher: bool) -> list[dict[str, Any]]:
        """Everything, for a screen that just connected."""
        self._follow(run)
        rows = self._class(run, teacher)
        if teacher:
            self._rows.update((row["id"], _signature(row)) for row in rows)
        return [
            {"t": "class", "students": rows, "joined": _joined(run), "total": len(run.seats)},
            {"t": "results", "results": run.results(teacher=teacher)},
        ]

    def changes(self, run: LessonRun, *, teacher: bool) -> list[bytes]:
        """Frames with what changed since the last call (none when nothing did)."""
        self._follow(run)
        frames = []
        rows = self._class(run, teacher)
        if teacher:
            changed = [row for row in rows if self._rows.get(row["id"]) != _signature(row)]
            self._rows.update((row["id"], _signature(row)) for row in changed)
            if changed:
                frames.append(frame_of({"t": "class", "students": changed, "joined": _joined(run),
                                        "total": len(run.seats), "partial": True}))  # fmt: skip
        elif rows != self._names:
            self._names = rows
            frames.append(frame_of({"t": "class", "students": rows, "joined": _joined(run), "total": len(run.seats)}))
        results = run.results(teacher=teacher)
        text = json.dumps(results, sort_keys=True)
        if self._results.get(teacher) != text:
            self._results[teacher] = text
            frames.append(frame_of({"t": "results", "results": results}))
        return frames

    def _class(self, run: LessonRun, teacher: bool) -> list[dict[str, Any]]:
        rows = run.class_status(teacher=teacher)
        if teacher and self._tablet_fields is not None:
            for row in rows:
                row.update(self._tablet_fields(run.seats[row["id"]], row))
        return rows


def _joined(run: LessonRun) -> int:
    return sum(1 for seat in run.seats.values() if seat.online)

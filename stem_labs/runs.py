"""Experiment runs, as a lab logger keeps them: a named run of chosen sensors at a sample rate,
started by hand or by a condition (with the seconds before it kept: the pre-trigger buffer),
stopped by hand, after a time or by a condition; annotated; kept separately to overlay.

Sampling follows the kit's readings (no timer of its own): when a kit reports, each live run
of that kit takes one sample of its chosen sensors if a sample period has passed since its
last one. A kit reporting at 10 Hz thus gives a 1 Hz run exactly 1 sample a second, and a
run faster than its kit gets every reading.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from classroom_hub.events import Listeners
from stem_labs.analysis import SeriesStats, series_stats
from stem_labs.conditions import Condition
from stem_labs.errors import RunError

log = logging.getLogger(__name__)

RunState = Literal["armed", "running", "stopped"]
Sample = tuple[float, tuple[float | None, ...]]  # (ts, one value per chosen sensor)
MAX_SAMPLE_RATE_HZ = 50.0
MAX_PRETRIGGER_S = 600.0
MAX_SAMPLES = 200_000  # 5.5 h at 10 Hz
FLUSH_EVERY = 50
FLUSH_AFTER_S = 2.0


@dataclass(frozen=True)
class RunPlan:
    name: str
    kit_id: str
    sensors: tuple[str, ...]
    sample_rate_hz: float
    start_condition: Condition | None = None
    pretrigger_s: float = 0.0
    duration_s: float | None = None
    stop_condition: Condition | None = None

    def __post_init__(self) -> None:
        if not self.sensors:
            raise RunError("choose at least one sensor")
        if not 0 < self.sample_rate_hz <= MAX_SAMPLE_RATE_HZ:
            raise RunError(f"sample rate must be above 0 and at most {MAX_SAMPLE_RATE_HZ:g} Hz")
        if not 0 <= self.pretrigger_s <= MAX_PRETRIGGER_S:
            raise RunError(f"pre-trigger buffer must be 0..{MAX_PRETRIGGER_S:g} s")
        if self.duration_s is not None and self.duration_s <= 0:
            raise RunError("duration must be above 0 s")

    @property
    def period_s(self) -> float:
        return 1.0 / self.sample_rate_hz

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kit_id": self.kit_id, "sensors": list(self.sensors),
            "sample_rate_hz": self.sample_rate_hz,
            "start_condition": str(self.start_condition) if self.start_condition else None,
            "pretrigger_s": self.pretrigger_s, "duration_s": self.duration_s,
            "stop_condition": str(self.stop_condition) if self.stop_condition else None,
        }  # fmt: skip


@dataclass(frozen=True)
class Annotation:
    id: str
    run_id: str
    ts: float
    text: str
    author: str
    created_at: float

    def as_dict(self, t0: float | None = None) -> dict[str, Any]:
        out = {"id": self.id, "ts": self.ts, "text": self.text, "author": self.author}
        if t0 is not None:
            out["t"] = round(self.ts - t0, 3)
        return out


@dataclass
class Run:
    id: str
    plan: RunPlan
    created_by: str
    created_at: float
    units: tuple[str, ...]
    state: RunState = "armed"
    started_at: float | None = None  # the trigger: t = 0
    stopped_at: float | None = None
    stop_reason: str | None = None
    shared: bool = False
    samples: list[Sample] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)
    statement_id: str | None = None
    buffer: deque[Sample] = field(default_factory=deque)  # pre-trigger samples while armed
    last_sample_ts: float | None = None
    unsaved: int = 0

    @property
    def t0(self) -> float:
        return self.started_at if self.started_at is not None else self.created_at

    def series(self, key: str, t_from: float | None = None, t_to: float | None = None) -> list[tuple[float, float]]:
        """(t seconds from the trigger, value) of one sensor, optionally within [t_from, t_to]."""
        index = self.plan.sensors.index(key)
        out = []
        for ts, values in self.samples:
            value = values[index]
            t = ts - self.t0
            if value is None or (t_from is not None and t < t_from) or (t_to is not None and t > t_to):
                continue
            out.append((t, value))
        return out

    def stats(self, t_from: float | None = None, t_to: float | None = None) -> dict[str, SeriesStats]:
        return {key: series_stats(key, self.series(key, t_from, t_to)) for key in self.plan.sensors}

    def as_dict(self, *, samples: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, **self.plan.as_dict(), "units": list(self.units), "created_by": self.created_by,
            "created_at": self.created_at, "state": self.state, "started_at": self.started_at,
            "stopped_at": self.stopped_at, "stop_reason": self.stop_reason, "shared": self.shared,
            "sample_count": len(self.samples), "summary": self.summary, "statement_id": self.statement_id,
            "annotations": [a.as_dict(self.t0) for a in self.annotations],
        }  # fmt: skip
        if samples:
            out["samples"] = [[round(ts - self.t0, 3), *values] for ts, values in self.samples]
        return out


class RunBook(Protocol):
    """Where runs are kept (stem_labs/labbook.py)."""

    def save_run(self, run: Run) -> None: ...
    def add_samples(self, run_id: str, samples: Sequence[Sample]) -> None: ...
    def save_annotation(self, annotation: Annotation) -> None: ...


RunListener = Callable[[str, Run, Any], None]  # ("state" | "sample" | "annotation", run, detail)


class Experiments:
    """Every live run of the room; finished runs stay in memory (the newest ``keep``) and in the book."""

    def __init__(
        self,
        book: RunBook | None = None,
        *,
        units: Callable[[str], str] = lambda key: "",
        on_end: Callable[[Run], None] | None = None,
        clock: Callable[[], float] = time.time,
        keep: int = 20,
        max_samples: int = MAX_SAMPLES,
    ) -> None:
        self._book = book
        self._units = units
        self._on_end = on_end
        self._clock = clock
        self._keep = keep
        self._max_samples = max_samples
        self.runs: dict[str, Run] = {}
        self._latest: dict[str, dict[str, float]] = {}
        self._latest_ts: dict[str, float] = {}
        self._listeners: Listeners[[str, Run, Any]] = Listeners("run_listener_failed")
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._flush_timer: asyncio.TimerHandle | None = None

    # --- control ---------------------------------------------------------------------------

    def start(self, plan: RunPlan, created_by: str) -> Run:
        """A new run: running now, or armed until its start condition holds."""
        now = self._clock()
        units = tuple(self._units(key) for key in plan.sensors)
        run = Run(str(uuid.uuid4()), plan, created_by, now, units)
        run.buffer = deque(maxlen=max(1, math.ceil(plan.pretrigger_s * plan.sample_rate_hz)))
        self.runs[run.id] = run
        log.info("event=run_created run=%s name=%r kit=%s by=%s start=%s", run.id, plan.name, plan.kit_id,
                 created_by, plan.start_condition or "now")  # fmt: skip
        latest = self._latest.get(plan.kit_id)
        fresh = now - self._latest_ts.get(plan.kit_id, -math.inf) <= max(2.0, 2 * plan.period_s)
        if plan.start_condition is None:
            self._begin(run, now, latest if fresh else None)  # t = 0 holds the values known now
        else:
            self._save(run)
            self._emit("state", run, None)
            if latest and fresh:  # the condition may hold already: then the run starts now
                self._check_trigger(run, now, latest)
        return run

    def trigger(self, run_id: str) -> Run:
        """Start an armed run by hand (the condition has not come)."""
        run = self.get(run_id)
        if run.state != "armed":
            raise RunError(f"run {run.plan.name!r} is {run.state}, not waiting for a start")
        self._begin(run, self._clock())
        return run

    def stop(self, run_id: str, reason: str = "by_hand") -> Run:
        run = self.get(run_id)
        if run.state == "stopped":
            return run
        timer = self._timers.pop(run.id, None)
        if timer is not None:
            timer.cancel()
        run.state = "stopped"
        run.stopped_at = self._clock()
        run.stop_reason = reason
        run.buffer.clear()
        run.summary = {key: stats.as_dict() for key, stats in run.stats().items()}
        self._flush_run(run)
        self._save(run)
        log.info("event=run_stopped run=%s reason=%s samples=%d", run.id, reason, len(run.samples))
        self._emit("state", run, None)
        if self._on_end is not None and run.started_at is not None:
            self._on_end(run)
        self._forget_old()
        return run

    def share(self, run_id: str, shared: bool) -> Run:
        run = self.get(run_id)
        for other in self.runs.values():  # one shared run at a time: the tablets show that one
            if shared and other.shared and other.id != run_id:
                other.shared = False
                self._save(other)
                self._emit("state", other, None)
        run.shared = shared
        self._save(run)
        self._emit("state", run, None)
        return run

    def annotate(self, run_id: str, t: float, text: str, author: str) -> Annotation:
        """A note at ``t`` seconds from the run's start (negative: in the pre-trigger part)."""
        run = self.get(run_id)
        text = text.strip()
        if not text:
            raise RunError("an annotation needs some text")
        note = Annotation(uuid.uuid4().hex, run.id, run.t0 + t, text[:500], author, self._clock())
        run.annotations.append(note)
        if self._book is not None:
            self._book.save_annotation(note)
        self._emit("annotation", run, note)
        return note

    def get(self, run_id: str) -> Run:
        run = self.runs.get(run_id)
        if run is None:
            raise RunError(f"no run {run_id!r} in memory")
        return run

    def adopt(self, run: Run) -> None:
        """A finished run read back from the book (for an overlay or an export)."""
        self.runs.setdefault(run.id, run)

    def shared_run(self) -> Run | None:
        shared = [r for r in self.runs.values() if r.shared]
        return max(shared, key=lambda r: r.created_at) if shared else None

    def live(self) -> list[Run]:
        return [r for r in self.runs.values() if r.state != "stopped"]

    def watching(self, kit_id: str) -> bool:
        """Whether a run (armed or recording) takes this kit's reports."""
        return any(r.plan.kit_id == kit_id and r.state != "stopped" for r in self.runs.values())

    def on_change(self, listener: RunListener) -> Callable[[], None]:
        return self._listeners.add(listener)

    def close(self) -> None:
        """The hub stops: live runs end here (a run cannot outlive the hub that samples it)."""
        for run in self.live():
            self.stop(run.id, "hub_stopped")
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None

    # --- readings --------------------------------------------------------------------------

    def on_readings(self, kit_id: str, ts: float, values: Mapping[str, float]) -> None:
        """The kit's current values (every sensor, calibrated) after a report at ``ts``."""
        latest = self._latest.setdefault(kit_id, {})
        latest.update(values)
        self._latest_ts[kit_id] = ts
        for run in [r for r in self.runs.values() if r.plan.kit_id == kit_id and r.state != "stopped"]:
            if run.state == "armed":
                self._sample(run, ts, latest)
                self._check_trigger(run, ts, latest)
            elif run.plan.duration_s is not None and ts - (run.started_at or ts) > run.plan.duration_s:
                self.stop(run.id, "duration")  # a report after the time is up is not part of the run
            else:
                self._sample(run, ts, latest)
                self._check_stop(run, ts, latest)

    def _check_trigger(self, run: Run, ts: float, latest: Mapping[str, float]) -> None:
        condition = run.plan.start_condition
        if condition is not None and condition.holds(latest):
            log.info("event=run_triggered run=%s condition=%r", run.id, str(condition))
            self._begin(run, ts, latest)

    def _check_stop(self, run: Run, ts: float, latest: Mapping[str, float]) -> None:
        plan = run.plan
        assert run.started_at is not None
        if plan.duration_s is not None and ts - run.started_at >= plan.duration_s:
            self.stop(run.id, "duration")
        elif plan.stop_condition is not None and plan.stop_condition.holds(latest):
            self.stop(run.id, "condition")
        elif len(run.samples) >= self._max_samples:
            self.stop(run.id, "full")

    def _sample(self, run: Run, ts: float, latest: Mapping[str, float], *, force: bool = False) -> None:
        # 10 % slack: a kit reporting exactly at the sample rate, with jitter, must not lose every other sample.
        if not force and run.last_sample_ts is not None and ts - run.last_sample_ts < 0.9 * run.plan.period_s:
            return
        values = tuple(latest.get(key) for key in run.plan.sensors)
        if all(v is None for v in values):
            return
        run.last_sample_ts = ts
        sample = (ts, values)
        if run.state == "armed":
            run.buffer.append(sample)
            return
        run.samples.append(sample)
        run.unsaved += 1
        self._emit("sample", run, sample)
        if run.unsaved >= FLUSH_EVERY:
            self._flush_run(run)
        elif self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(FLUSH_AFTER_S, self._flush_all)

    def _begin(self, run: Run, ts: float, latest: Mapping[str, float] | None = None) -> None:
        run.state = "running"
        run.started_at = ts
        kept = [s for s in run.buffer if s[0] >= ts - run.plan.pretrigger_s and s[0] < ts]
        run.buffer.clear()
        run.samples = kept
        run.unsaved = len(kept)
        self._save(run)
        self._emit("state", run, None)
        for sample in kept:
            self._emit("sample", run, sample)
        if latest is not None:
            self._sample(run, ts, latest, force=True)  # the trigger itself is a sample at t = 0
        if run.plan.duration_s is not None:
            loop = asyncio.get_running_loop()
            delay = max(0.0, run.plan.duration_s - (self._clock() - ts))
            self._timers[run.id] = loop.call_later(delay, self._time_up, run.id)

    def _time_up(self, run_id: str) -> None:
        self._timers.pop(run_id, None)
        run = self.runs.get(run_id)
        if run is not None and run.state == "running":
            self.stop(run_id, "duration")

    # --- book-keeping ----------------------------------------------------------------------

    def _flush_all(self) -> None:
        self._flush_timer = None
        for run in self.runs.values():
            self._flush_run(run)

    def _flush_run(self, run: Run) -> None:
        if run.unsaved and self._book is not None:
            self._book.add_samples(run.id, run.samples[-run.unsaved :])
        run.unsaved = 0

    def _save(self, run: Run) -> None:
        if self._book is not None:
            self._book.save_run(run)

    def _forget_old(self) -> None:
        finished = sorted((r for r in self.runs.values() if r.state == "stopped" and not r.shared),
                          key=lambda r: r.created_at)  # fmt: skip
        for run in finished[: max(0, len(finished) - self._keep)]:
            del self.runs[run.id]

    def _emit(self, kind: str, run: Run, detail: Any) -> None:
        self._listeners.emit(kind, run, detail)

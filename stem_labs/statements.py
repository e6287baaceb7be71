"""xAPI statements of the labs, built with classroom_hub/xapi.py so they read like the lessons':

* an experiment run that ended: ``completed`` an ``experiment`` activity (the run), with its
  duration, sample count and per-sensor summary (min, max, mean, unit) in the result;
* a robot mission: ``completed`` the mission activity with ``success`` and its duration.

Ids are stable (UUID v5 of the run or mission id), so a statement rebuilt after a restart is
the same statement; the run id is the ``registration``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from classroom_hub import xapi
from stem_labs.runs import Run

EXT_KIT = f"{xapi.VOCABULARY}/extensions/kit-id"
EXT_ROBOT = f"{xapi.VOCABULARY}/extensions/robot-id"
EXT_SLOT = f"{xapi.VOCABULARY}/extensions/program-slot"
EXT_SAMPLES = f"{xapi.VOCABULARY}/extensions/samples"
EXT_SAMPLE_RATE = f"{xapi.VOCABULARY}/extensions/sample-rate-hz"
EXT_SUMMARY = f"{xapi.VOCABULARY}/extensions/sensor-summary"
EXT_STOP_REASON = f"{xapi.VOCABULARY}/extensions/stop-reason"


@dataclass(frozen=True)
class LabPlace:
    """Where the lab is: what every statement's context says."""

    home: str
    school_code: str
    room_id: str
    room_name: str
    language: str

    def iri(self, *parts: str) -> str:
        from urllib.parse import quote

        return self.home + "/xapi/" + "/".join(quote(p, safe="") for p in parts)

    def context(self, registration: str, extensions: Mapping[str, Any]) -> dict[str, Any]:
        room = xapi.activity(self.iri("schools", self.school_code, "rooms", self.room_id), "room", self.room_name,
                             self.language)  # fmt: skip
        return {
            "registration": registration,
            "platform": "classroom-hub",
            "language": self.language,
            "contextActivities": {"grouping": [room]},
            "extensions": {xapi.EXT_SCHOOL: self.school_code, xapi.EXT_ROOM: self.room_id, **extensions},
        }


def run_statement(place: LabPlace, run: Run) -> dict[str, Any]:
    assert run.started_at is not None and run.stopped_at is not None
    summary = {
        key: {k: run.summary.get(key, {}).get(k) for k in ("n", "min", "max", "mean")} | {"unit": unit}
        for key, unit in zip(run.plan.sensors, run.units, strict=True)
    }
    obj = xapi.activity(place.iri("labs", "runs", run.id), "experiment", run.plan.name, place.language)
    return {
        "id": xapi.statement_id("lab-run", run.id, "completed"),
        "actor": xapi.agent(place.home, run.created_by),
        "verb": xapi.verb("completed"),
        "object": obj,
        "result": {
            "completion": True,
            "duration": xapi.iso_duration(max(0.0, run.stopped_at - run.started_at)),
            "extensions": {EXT_SAMPLES: len(run.samples), EXT_SUMMARY: summary, EXT_STOP_REASON: run.stop_reason},
        },
        "context": place.context(run.id, {EXT_KIT: run.plan.kit_id, EXT_SAMPLE_RATE: run.plan.sample_rate_hz}),
        "timestamp": xapi.iso_timestamp(run.stopped_at),
        "version": xapi.XAPI_VERSION,
    }


def mission_statement(
    place: LabPlace,
    *,
    mission_id: str,
    robot_id: str,
    slot: int,
    name: str,
    actor: str,
    started_at: float,
    ended_at: float,
    success: bool,
) -> dict[str, Any]:
    obj = xapi.activity(place.iri("labs", "robots", robot_id, "missions", mission_id), "experiment", name,
                        place.language)  # fmt: skip
    return {
        "id": xapi.statement_id("robot-mission", mission_id, "completed"),
        "actor": xapi.agent(place.home, actor),
        "verb": xapi.verb("completed"),
        "object": obj,
        "result": {
            "success": success,
            "completion": True,
            "duration": xapi.iso_duration(max(0.0, ended_at - started_at)),
        },
        "context": place.context(mission_id, {EXT_ROBOT: robot_id, EXT_SLOT: slot}),
        "timestamp": xapi.iso_timestamp(ended_at),
        "version": xapi.XAPI_VERSION,
    }

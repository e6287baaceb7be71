"""The labs' HTTP API (docs/stem-labs.md §5): kits, calibration, alarms, runs, robots, e-stop.

Requests are pydantic models (unknown fields refused); errors are JSON ``{"error", "detail"}``
with 400 (bad request), 404 (unknown kit, robot or run), 409 (refused by a safety rule or by
the state of things), 502/504 (the device refused or did not answer).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from classroom_hub.errors import HubError, StoreError
from classroom_hub.keys import REJECTIONS
from classroom_hub.problems import describe
from classroom_hub.web.access import allow
from classroom_hub.web.routes import require
from classroom_hub.web.security import problem
from stem_labs.alarms import SensorLimits
from stem_labs.calibration import Method
from stem_labs.conditions import parse_condition
from stem_labs.errors import (
    ConditionError,
    LabError,
    RunError,
    UnknownKit,
)
from stem_labs.export import run_csv
from stem_labs.keys import LAB
from stem_labs.kits import KitRules
from stem_labs.lab import Lab
from stem_labs.runs import Run, RunPlan
from stem_labs.sensors import SENSORS

LEADS = ("lab_lead",)
TEACHERS = ("lab_lead", "teacher")
M = TypeVar("M", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LimitBody(Body):
    warn_low: float | None = None
    warn_high: float | None = None
    alarm_low: float | None = None
    alarm_high: float | None = None
    change: float | None = Field(None, gt=0)
    change_window_s: float = Field(12 * 3600.0, gt=0, le=7 * 86400)
    hysteresis: float = Field(0.0, ge=0)
    delay_s: float = Field(0.0, ge=0, le=3600)


class RulesBody(Body):
    low_level_pct: float = Field(20.0, ge=0, le=100)
    level_ok_pct: float = Field(25.0, ge=0, le=100)
    do_low_mg_l: float = Field(5.0, ge=0, le=20)
    do_ok_mg_l: float = Field(5.5, ge=0, le=20)
    lights_schedule: bool = True
    lights_on: str = "06:00"
    lights_off: str = "18:00"
    feeds_per_day: int = Field(3, ge=0, le=20)
    command_timeout_s: float = Field(3.0, ge=0.2, le=30)


class SettingsBody(Body):
    limits: dict[str, LimitBody]
    rules: RulesBody


class OutputBody(Body):
    output: Literal["pump", "aerator", "lights"]
    on: bool


class FeedBody(Body):
    portions: int = Field(1, ge=1, le=5)


class CalibrationBody(Body):
    sensor: str
    method: Method
    data: dict[str, Any]


class RunBody(Body):
    name: str = Field(min_length=1, max_length=80)
    kit_id: str
    sensors: list[str] = Field(min_length=1, max_length=12)
    sample_rate_hz: float = Field(1.0, gt=0, le=50)
    start_condition: str | None = Field(None, max_length=60)
    pretrigger_s: float = Field(0.0, ge=0, le=600)
    duration_s: float | None = Field(None, gt=0, le=86400)
    stop_condition: str | None = Field(None, max_length=60)


class AnnotationBody(Body):
    t: float
    text: str = Field(min_length=1, max_length=500)


class ShareBody(Body):
    shared: bool


class ProgramBody(Body):
    slot: int = Field(ge=0, le=3)
    program: str = Field(min_length=1, max_length=400)


class RunProgramBody(Body):
    slot: int = Field(ge=0, le=3)
    name: str = Field("", max_length=80)


class MissionBody(Body):
    success: bool


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/lab", snapshot)
    r.add_put("/api/lab/kits/{kit}/settings", kit_settings)
    r.add_post("/api/lab/kits/{kit}/outputs", kit_output)
    r.add_post("/api/lab/kits/{kit}/feed", kit_feed)
    r.add_post("/api/lab/kits/{kit}/calibrations", kit_calibrate)
    r.add_get("/api/lab/kits/{kit}/calibrations", kit_calibrations)
    r.add_get("/api/lab/alarms", alarms)
    r.add_post("/api/lab/alarms/{alarm}/acknowledge", acknowledge)
    r.add_get("/api/lab/runs", runs)
    r.add_post("/api/lab/runs", start_run)
    r.add_get("/api/lab/runs/{run}", run_detail)
    r.add_post("/api/lab/runs/{run}/trigger", trigger_run)
    r.add_post("/api/lab/runs/{run}/stop", stop_run)
    r.add_post("/api/lab/runs/{run}/share", share_run)
    r.add_post("/api/lab/runs/{run}/annotations", annotate)
    r.add_get("/api/lab/runs/{run}/stats", run_stats)
    r.add_get("/api/lab/runs/{run}/csv", run_export)
    r.add_get("/api/lab/robots", robots)
    r.add_post("/api/lab/robots/{robot}/program", robot_program)
    r.add_post("/api/lab/robots/{robot}/run", robot_run)
    r.add_post("/api/lab/robots/{robot}/stop", robot_stop)
    r.add_post("/api/lab/robots/{robot}/reset", robot_reset)
    r.add_post("/api/lab/robots/{robot}/mission", robot_mission)
    r.add_post("/api/lab/estop", estop)


# --- plumbing ------------------------------------------------------------------------------------


def _error(request: web.Request, status: int, error: str, detail: str) -> web.HTTPException:
    _count_refusal(request, status, error, detail)
    return problem(status, error, detail)


def _count_refusal(request: web.Request, status: int, error: str, detail: str) -> None:
    """Bad input to the labs' API (400) is counted with the hub's other rejections (/tech, /metrics)."""
    if status == 400:
        request.config_dict[REJECTIONS].add(f"http {request.method} {request.path}", error, detail)


async def _body(request: web.Request, model: type[M]) -> M:
    try:
        raw = await request.json()
    except ValueError as err:
        raise _error(request, 400, "malformed_request", f"body is not JSON: {err}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise _error(request, 400, "malformed_request", describe(err)) from None


async def _guard(request: web.Request, call: Callable[[], Any]) -> Any:
    """Run ``call`` (plain or async). A lab or command error escaping it is answered by the hub's
    error middleware with its code and status (``stem_labs/errors.py``); a refused value is also
    counted as a rejection."""
    try:
        result = call()
        return await result if inspect.isawaitable(result) else result
    except HubError as err:
        _count_refusal(request, err.http_status, err.code, err.detail)
        raise


async def _stored(request: web.Request) -> None:
    """Answer only once what the request wrote is in the lab book (labs.db, FULL): a 2xx is a
    promise it is stored. A write the failing disk or database refused is kept and written once
    the store works again (storage/sqlite.py), but it is not stored now: 503 says so."""
    book = request.config_dict[LAB].book
    if book is None:
        return
    await book.barrier()
    if book.kept:
        raise StoreError(f"labs.db: {book.kept} change(s) not stored yet: the disk or the database fails; "
                         "they are kept and written once it works again")  # fmt: skip


async def _run(request: web.Request) -> Run:
    lab = request.config_dict[LAB]
    run_id = request.match_info["run"]
    if run_id not in lab.experiments.runs and lab.book is not None:
        stored = await lab.book.load_run(run_id)
        if stored is not None:
            lab.experiments.adopt(stored)
    run = lab.experiments.runs.get(run_id)
    if run is None:
        raise _error(request, 404, "unknown", f"no run {run_id!r}")
    return run


# --- kits ----------------------------------------------------------------------------------------


@allow("lab_lead", "teacher", "technician")
async def snapshot(request: web.Request) -> web.Response:
    await require(request, "lab_lead", "teacher", "technician")
    return web.json_response(request.config_dict[LAB].snapshot())


@allow(*LEADS)
async def kit_settings(request: web.Request) -> web.Response:
    user = await require(request, *LEADS)
    body = await _body(request, SettingsBody)
    lab = request.config_dict[LAB]

    unknown = [k for k in body.limits if k not in SENSORS]
    if unknown:
        raise _error(request, 400, "invalid", f"no sensor {', '.join(unknown)}")
    try:
        rules = KitRules(**body.rules.model_dump())
    except LabError as err:  # the rules contradict each other, or a time is not HH:MM
        raise _error(request, 400, "invalid", str(err)) from None
    limits = {k: SensorLimits(k, **v.model_dump()) for k, v in body.limits.items()}

    def apply() -> dict[str, Any]:
        kit_id = request.match_info["kit"]
        lab.update_settings(kit_id, limits, rules, user.username)
        return lab.kit_view(lab.kit(kit_id))

    view = await _guard(request, apply)
    await _stored(request)
    return web.json_response(view)


@allow(*TEACHERS)
async def kit_output(request: web.Request) -> web.Response:
    user = await require(request, *TEACHERS)
    body = await _body(request, OutputBody)
    lab = request.config_dict[LAB]

    async def call() -> None:
        await lab.safety.set_output(lab.kit(request.match_info["kit"]), body.output, body.on, user.username)

    await _guard(request, call)
    return web.json_response({"ok": True, "output": body.output, "on": body.on})


@allow(*TEACHERS)
async def kit_feed(request: web.Request) -> web.Response:
    user = await require(request, *TEACHERS)
    body = await _body(request, FeedBody)
    lab = request.config_dict[LAB]
    fed = await _guard(request, lambda: lab.safety.feed(lab.kit(request.match_info["kit"]), body.portions,
                                                        user.username))  # fmt: skip
    await _stored(request)
    return web.json_response({"ok": True, "fed_today": fed})


@allow(*LEADS)
async def kit_calibrate(request: web.Request) -> web.Response:
    user = await require(request, *LEADS)
    body = await _body(request, CalibrationBody)
    lab = request.config_dict[LAB]
    cal = await _guard(request, lambda: lab.calibrate(request.match_info["kit"], body.sensor, body.method, body.data,
                                                      user.username))  # fmt: skip
    await _stored(request)
    return web.json_response(cal.as_dict(), status=201)


@allow(*TEACHERS)
async def kit_calibrations(request: web.Request) -> web.Response:
    await require(request, *TEACHERS)
    lab = request.config_dict[LAB]
    await _guard(request, lambda: lab.kit(request.match_info["kit"]))
    history = await lab.book.calibrations(request.match_info["kit"]) if lab.book is not None else []
    return web.json_response({"calibrations": [c.as_dict() for c in history]})


# --- alarms --------------------------------------------------------------------------------------


@allow("lab_lead", "teacher", "technician")
async def alarms(request: web.Request) -> web.Response:
    await require(request, "lab_lead", "teacher", "technician")
    lab = request.config_dict[LAB]
    body: dict[str, Any] = {"active": [a.as_dict() for a in lab.alarms.active()]}
    if request.query.get("history"):
        body["history"] = [a.as_dict() for a in await lab.alarms.history()]
    return web.json_response(body)


@allow(*TEACHERS)
async def acknowledge(request: web.Request) -> web.Response:
    user = await require(request, *TEACHERS)
    alarm = request.config_dict[LAB].alarms.acknowledge(request.match_info["alarm"], user.username)
    if alarm is None:
        raise _error(request, 404, "unknown", "no such active alarm")
    return web.json_response(alarm.as_dict())


# --- experiment runs -----------------------------------------------------------------------------


@allow(*TEACHERS)
async def runs(request: web.Request) -> web.Response:
    await require(request, *TEACHERS)
    lab = request.config_dict[LAB]
    live = {r.id: r.as_dict() for r in lab.experiments.runs.values()}
    stored = await lab.book.run_list() if lab.book is not None else []
    listed = [live.pop(r["id"], r) for r in stored] + list(live.values())
    return web.json_response({"runs": sorted(listed, key=lambda r: r["created_at"], reverse=True)})


@allow(*TEACHERS)
async def start_run(request: web.Request) -> web.Response:
    user = await require(request, *TEACHERS)
    body = await _body(request, RunBody)
    lab = request.config_dict[LAB]

    async def start() -> Run:
        known = set(lab.kits[body.kit_id].sensors) if body.kit_id in lab.kits else None
        if known is None and body.kit_id in lab.robots.views:
            known = {"distance", "line", "motor_l", "motor_r", "battery"}
        if known is None:
            raise UnknownKit(f"no kit or robot {body.kit_id!r} in this room")
        wrong = [s for s in body.sensors if s not in known]
        if wrong:
            raise ConditionError(f"{body.kit_id} has no sensor {', '.join(wrong)}")
        try:
            plan = RunPlan(
                body.name.strip(), body.kit_id, tuple(dict.fromkeys(body.sensors)), body.sample_rate_hz,
                parse_condition(body.start_condition) if body.start_condition else None, body.pretrigger_s,
                body.duration_s, parse_condition(body.stop_condition) if body.stop_condition else None,
            )  # fmt: skip
        except RunError as err:
            raise ConditionError(str(err)) from err
        return lab.experiments.start(plan, user.username)

    run = await _guard(request, start)
    await _stored(request)
    return web.json_response(run.as_dict(), status=201)


@allow(*TEACHERS)
async def run_detail(request: web.Request) -> web.Response:
    await require(request, *TEACHERS)
    return web.json_response((await _run(request)).as_dict(samples=True))


@allow(*TEACHERS)
async def trigger_run(request: web.Request) -> web.Response:
    await require(request, *TEACHERS)
    run = await _run(request)
    experiments = request.config_dict[LAB].experiments
    return web.json_response((await _guard(request, lambda: experiments.trigger(run.id))).as_dict())


@allow(*TEACHERS)
async def stop_run(request: web.Request) -> web.Response:
    await require(request, *TEACHERS)
    run = await _run(request)
    experiments = request.config_dict[LAB].experiments
    stopped = await _guard(request, lambda: experiments.stop(run.id))
    await _stored(request)
    return web.json_response(stopped.as_dict())


@allow(*TEACHERS)
async def share_run(request: web.Request) -> web.Response:
    await require(request, *TEACHERS)
    body = await _body(request, ShareBody)
    run = await _run(request)
    return web.json_response(request.config_dict[LAB].experiments.share(run.id, body.shared).as_dict())


@allow(*TEACHERS)
async def annotate(request: web.Request) -> web.Response:
    user = await require(request, *TEACHERS)
    body = await _body(request, AnnotationBody)
    run = await _run(request)
    experiments = request.config_dict[LAB].experiments
    note = await _guard(request, lambda: experiments.annotate(run.id, body.t, body.text, user.username))
    await _stored(request)
    return web.json_response(note.as_dict(run.t0), status=201)


@allow(*TEACHERS)
async def run_stats(request: web.Request) -> web.Response:
    await require(request, *TEACHERS)
    run = await _run(request)
    try:
        t_from = float(request.query["from"]) if "from" in request.query else None
        t_to = float(request.query["to"]) if "to" in request.query else None
    except ValueError:
        raise _error(request, 400, "malformed_request", "from and to are seconds from the run's start") from None
    stats = run.stats(t_from, t_to)
    return web.json_response({"run_id": run.id, "from": t_from, "to": t_to,
                              "stats": {k: s.as_dict() for k, s in stats.items()}})  # fmt: skip


@allow(*TEACHERS)
async def run_export(request: web.Request) -> web.Response:
    await require(request, *TEACHERS)
    run = await _run(request)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in run.plan.name)[:40] or "run"
    return web.Response(
        text=run_csv(run),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}-{run.id[:8]}.csv"'},
    )


# --- robots --------------------------------------------------------------------------------------


@allow("lab_lead", "teacher", "technician")
async def robots(request: web.Request) -> web.Response:
    await require(request, "lab_lead", "teacher", "technician")
    lab = request.config_dict[LAB]
    missions = await lab.book.missions() if lab.book is not None else []
    return web.json_response({"robots": lab.robots.listing(), "missions": missions})


def _robot(request: web.Request) -> str:
    robot_id = request.match_info["robot"]
    if robot_id not in request.config_dict[LAB].robots.views:
        raise _error(request, 404, "unknown", f"no robot {robot_id!r} in this room")
    return robot_id


@allow(*TEACHERS)
async def robot_program(request: web.Request) -> web.Response:
    await require(request, *TEACHERS)
    body = await _body(request, ProgramBody)
    robot_id = _robot(request)
    result = await _guard(request, lambda: request.config_dict[LAB].robots.upload(robot_id, body.slot, body.program))
    return web.json_response(result.as_dict())


@allow(*TEACHERS)
async def robot_run(request: web.Request) -> web.Response:
    user = await require(request, *TEACHERS)
    body = await _body(request, RunProgramBody)
    robot_id = _robot(request)
    robots = request.config_dict[LAB].robots
    mission = await _guard(request, lambda: robots.start_mission(robot_id, body.slot, body.name, user.username))
    return web.json_response(mission.as_dict(), status=201)


@allow(*TEACHERS)
async def robot_stop(request: web.Request) -> web.Response:
    await require(request, *TEACHERS)
    robot_id = _robot(request)
    await _guard(request, lambda: request.config_dict[LAB].robots.stop(robot_id))
    return web.json_response({"ok": True})


@allow(*TEACHERS)
async def robot_reset(request: web.Request) -> web.Response:
    await require(request, *TEACHERS)
    robot_id = _robot(request)
    await _guard(request, lambda: request.config_dict[LAB].robots.command(robot_id, "reset"))
    return web.json_response({"ok": True})


@allow(*TEACHERS)
async def robot_mission(request: web.Request) -> web.Response:
    await require(request, *TEACHERS)
    body = await _body(request, MissionBody)
    robot_id = _robot(request)
    mission = await _guard(request, lambda: request.config_dict[LAB].robots.end_mission(robot_id, success=body.success))
    await _stored(request)
    return web.json_response(mission.as_dict())


@allow("lab_lead", "teacher", "technician")
async def estop(request: web.Request) -> web.Response:
    """Emergency stop of every robot; 200 with a result per robot, whoever among teachers asks."""
    user = await require(request, "lab_lead", "teacher", "technician")
    lab: Lab = request.config_dict[LAB]
    results = await lab.robots.estop_all(user.username)
    return web.json_response({"all_stopped": all(r.ok for r in results), "results": [r.as_dict() for r in results]})

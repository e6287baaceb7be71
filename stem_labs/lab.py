"""The lab of one room: its Vinaponics kits, robots, alarms, safety rules and experiments,
fed by the room's MQTT tree (serial kits arrive there through the firmware bridge).

Everything here runs on the hub's event loop and needs nobody logged in; the pages only
watch (``subscribe``) and ask (the methods below).
"""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from classroom_hub import xapi
from classroom_hub.alarms import Alarm, AlarmService
from classroom_hub.bus.commands import Commands
from classroom_hub.bus.link import Message, MqttLink
from classroom_hub.bus.payloads import EVENT, Telemetry
from classroom_hub.bus.topics import device_topic, parse_device_topic
from classroom_hub.errors import StoreError, swallowed
from classroom_hub.events import Listeners
from classroom_hub.ingest import Ingest
from classroom_hub.pusher.settings import central_of
from classroom_hub.registry import DeviceChange, DeviceRegistry
from classroom_hub.store import TelemetryStore
from config.settings import HubSettings
from stem_labs.alarms import LabAlarms, SensorLimits
from stem_labs.calibration import Calibration, Method, calibrate
from stem_labs.errors import UnknownKit
from stem_labs.kits import KitRules, VinaponicsKit
from stem_labs.labbook import LabBook
from stem_labs.robots import Robots
from stem_labs.runs import Experiments, Run
from stem_labs.safety import Safety
from stem_labs.sensors import SENSORS, to_canonical, unit_of
from stem_labs.statements import LabPlace, run_statement

log = logging.getLogger(__name__)

LIVE_EVERY_S = 0.2  # kit and robot values reach the pages at most 5 times a second
Listener = Callable[[dict[str, Any]], None]


class Lab:
    def __init__(
        self,
        settings: HubSettings,
        registry: DeviceRegistry,
        commands: Commands,
        link: MqttLink,
        store: TelemetryStore | None,
        book: LabBook | None,
        *,
        ingest: Ingest,
        alarms: AlarmService,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ingest = ingest  # readings come validated from it, not parsed again
        self._room = settings.room.id
        self._registry = registry
        self._link = link
        self._store = store
        self.book = book  # the lab book (calibration history, runs, missions), for the API
        self._clock = clock
        room = settings.room
        home = xapi.home_page(central_of(settings).xapi_url, settings.http.public_url)
        self.place = LabPlace(home, room.school_code, room.id, room.name, settings.language)
        self.alarms = LabAlarms(alarms, clock=clock)  # the rules; the room's alarm service keeps the alarms
        self.kits = _kits_from(settings)
        self.safety = Safety(commands, registry, self.alarms, book, clock=clock)
        for kit in self.kits.values():
            self.safety.attach(kit)
        self.experiments = Experiments(book, units=unit_of, on_end=self._run_ended, clock=clock)
        self.robots = Robots(registry, commands, self.place, book=book, record=self._record_statement, clock=clock)
        self._kit_of_device: dict[str, VinaponicsKit] = {}
        self._pending: dict[str, _KitPass] = {}  # device id -> its kit's reports in this read pass of the bus
        for kit in self.kits.values():
            self._kit_of_device[kit.id] = kit
            if kit.actuator_id:
                self._kit_of_device[kit.actuator_id] = kit
        self._listeners: Listeners[[dict[str, Any]]] = Listeners("lab_listener_failed")
        self._removers: list[Callable[[], None]] = []
        self._dirty: set[tuple[str, str]] = set()
        self._live_timer: asyncio.TimerHandle | None = None
        self._later: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.book is not None:
            await self._hand_over_old_alarms(self.book)
            for kit_id, (limits, rules) in (await self.book.settings()).items():
                if kit_id in self.kits:
                    self.alarms.set_limits(kit_id, {k: SensorLimits(**v) for k, v in limits.items()})
                    self.kits[kit_id].rules = KitRules(**rules)
            for cal in reversed(await self.book.calibrations()):  # oldest first: the newest wins
                if cal.kit_id in self.kits:
                    self.kits[cal.kit_id].calibrations[cal.sensor] = cal
        devices = set(self._kit_of_device) | set(self.robots.ids())
        self._removers.append(self._ingest.on_telemetry(self._from_ingest))
        for device_id in sorted(devices):
            self._removers.append(self._link.subscribe(device_topic(self._room, device_id, "event"), self._on_event))
        self._removers.append(self._registry.on_change(self._on_device_change))
        self._removers.append(self.alarms.on_change(self._on_alarm))
        self._removers.append(self.experiments.on_change(self._on_run))
        self._removers.append(self.robots.on_change(self._on_robot))
        self.safety.start()
        log.info("event=lab_started kits=%d robots=%d", len(self.kits), len(self.robots.ids()))

    async def close(self) -> None:
        for remove in self._removers:
            remove()
        self._removers.clear()
        if self._live_timer is not None:
            self._live_timer.cancel()
        for handle in self._later:
            handle.cancel()
        self.experiments.close()
        await self.safety.close()
        await self.robots.close()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    # --- what the pages see ------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self._listeners.add(listener)

    def kit(self, kit_id: str) -> VinaponicsKit:
        kit = self.kits.get(kit_id)
        if kit is None:
            raise UnknownKit(f"no Vinaponics kit {kit_id!r} in this room")
        return kit

    def kit_view(self, kit: VinaponicsKit) -> dict[str, Any]:
        record = self._registry.get(kit.id)
        return {
            **kit.as_dict(),
            "state": record.state if record else "unknown",
            "firmware": record.firmware if record else None,
            "output_device": self.safety.output_device(kit),
            "safety": self.safety.state(kit.id),
            "limits": {k: v.as_dict() for k, v in self.alarms.limits(kit.id).items()},
        }

    def snapshot(self) -> dict[str, Any]:
        return {
            "kits": [self.kit_view(k) for k in self.kits.values()],
            "alarms": [a.as_dict() for a in self.alarms.active()],
            "robots": self.robots.listing(),
            "runs": [r.as_dict() for r in sorted(self.experiments.runs.values(), key=lambda r: r.created_at)],
            "sensors": {
                k: {"unit": s.unit, "precision": s.precision, "low": s.low, "high": s.high} for k, s in SENSORS.items()
            },
        }

    # --- what the pages ask ------------------------------------------------------------------------

    async def calibrate(self, kit_id: str, sensor: str, method: Method, data: dict[str, Any], by: str) -> Calibration:
        kit = self.kit(kit_id)
        cal = calibrate(kit_id, sensor, method, data, by, self._clock())
        kit.calibrations[sensor] = cal
        if self.book is not None:
            self.book.save_calibration(cal)
        if self._store is not None:  # the central database keeps calibrations beside the raw readings
            detail = json.dumps(cal.as_dict(), ensure_ascii=False)
            try:
                self._store.keep_device_events([(kit.id, cal.performed_at, "calibration", detail)])
            except StoreError as err:
                log.warning("event=calibration_event_not_stored kit=%s error=%r", kit.id, str(err))
        log.info("event=calibrated kit=%s sensor=%s method=%s by=%s points=%s", kit_id, sensor, method, by, cal.points)
        self._mark("kit", kit.id)
        return cal

    def update_settings(self, kit_id: str, limits: Mapping[str, SensorLimits], rules: KitRules, by: str) -> None:
        kit = self.kit(kit_id)
        self.alarms.set_limits(kit_id, limits)
        kit.rules = rules
        if self.book is not None:
            self.book.save_settings(kit_id, {k: v.as_dict() for k, v in limits.items()}, rules.as_dict(), by,
                                     self._clock())  # fmt: skip
        self.safety.schedule_lights(kit)
        log.info("event=kit_settings_changed kit=%s by=%s", kit_id, by)
        self._mark("kit", kit.id)

    # --- from the bus ------------------------------------------------------------------------------

    def _from_ingest(self, device: str, telemetry: Telemetry) -> None:
        # Judged once per read pass of the bus: see _KitPass. The common case first.
        kit_pass = self._pending.get(device)
        if kit_pass is not None:
            kit_pass.add(device, telemetry)
            return
        if device in self.robots.views:
            self.on_telemetry(device, telemetry)
            return
        kit = self._kit_of_device.get(device)
        if kit is None:
            return
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._judge_pending)
        kit_pass = next((p for p in self._pending.values() if p.kit is kit), None)  # the kit's other device
        if kit_pass is None:
            kit_pass = _KitPass(kit, self.alarms, every=self.experiments.watching(kit.id))  # a run gets every report
        self._pending[device] = kit_pass
        kit_pass.add(device, telemetry)

    def _judge_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for kit_pass in {id(p): p for p in pending.values()}.values():
            for device, telemetry in kit_pass.reports():
                try:
                    self.on_telemetry(device, telemetry)
                except Exception:  # one bad report must not cost the others their judgement
                    swallowed("lab_report_failed", kit=kit_pass.kit.id, device=device)

    def on_telemetry(self, device: str, telemetry: Telemetry) -> None:
        """Readings of a kit or robot, already validated by the hub's ingest."""
        ts = telemetry.ts or self._clock()
        if device in self.robots.views:
            text = (telemetry.model_extra or {}).get("text")
            values = {r.key: r.value for r in telemetry.readings}
            texts = {k: str(v) for k, v in text.items()} if isinstance(text, dict) else {}
            self.robots.on_telemetry(device, ts, values, texts)
            self.experiments.on_readings(device, ts, values)
            return
        kit = self._kit_of_device.get(device)
        if kit is None:
            return
        changed = kit.apply({r.key: (r.value, r.unit) for r in telemetry.readings}, ts)
        for key, value in changed.items():
            self.alarms.observe(kit.id, key, value, ts)
        self.safety.on_readings(kit)
        self.experiments.on_readings(kit.id, ts, kit.values())
        self._mark("kit", kit.id)

    def _on_event(self, message: Message) -> None:
        where = parse_device_topic(message.topic)
        if where is None:
            return
        try:
            event = EVENT.validate_json(message.payload)
        except ValidationError:
            return
        ts = event.ts or self._clock()
        if where.device_id in self.robots.views:
            self.robots.on_event(where.device_id, event.type, event.data, ts)
            return
        kit = self._kit_of_device.get(where.device_id)
        if kit is not None and event.type == "level_low":
            level = event.data.get("level")
            self.safety.on_level_low_event(kit, float(level) if isinstance(level, int | float) else 0.0)

    def _on_device_change(self, change: DeviceChange) -> None:
        kit = self._kit_of_device.get(change.device_id)
        if kit is not None and change.new_state == "online":
            # Half a second later: its retained status (does it drive the outputs?) and first report are in.
            loop = asyncio.get_running_loop()
            self._later = {h for h in self._later if h.when() > loop.time()}
            self._later.add(loop.call_later(0.5, self.safety.kit_online, kit))
        if kit is not None:
            self._mark("kit", kit.id)
        elif change.device_id in self.robots.views:
            self._mark("robot", change.device_id)

    # --- live updates ------------------------------------------------------------------------------

    def _mark(self, kind: str, key: str) -> None:
        self._dirty.add((kind, key))
        if self._live_timer is None:
            self._live_timer = asyncio.get_running_loop().call_later(LIVE_EVERY_S, self._flush_live)

    def _flush_live(self) -> None:
        self._live_timer = None
        dirty, self._dirty = self._dirty, set()
        robots = {r["id"]: r for r in self.robots.listing()} if any(k == "robot" for k, _ in dirty) else {}
        for kind, key in sorted(dirty):
            if kind == "kit" and key in self.kits:
                self._broadcast({"type": "kit", "kit": self.kit_view(self.kits[key])})
            elif kind == "robot" and key in robots:
                self._broadcast({"type": "robot", "robot": robots[key]})

    async def _hand_over_old_alarms(self, book: LabBook) -> None:
        """Alarms a hub from before the one alarm service kept in the lab book move to the
        service's table; the book's table goes once the service has them (safe to repeat)."""
        old = await book.old_alarms()
        if old:
            added = await self.alarms.service.adopt(old)
            log.info("event=lab_alarms_moved count=%d new=%d", len(old), added)
        await book.forget_old_alarms()

    def _on_alarm(self, alarm: Alarm) -> None:
        self._broadcast({"type": "alarm", "alarm": alarm.as_dict()})
        if self._store is not None:
            data = json.dumps({"id": alarm.id, "kind": alarm.kind, "severity": alarm.severity, "state": alarm.state,
                               "detail": alarm.detail, "by": alarm.acknowledged_by}, ensure_ascii=False)  # fmt: skip
            try:
                self._store.keep_device_events([(alarm.device_id, alarm.changed_at, "lab_alarm", data)])
            except StoreError as err:
                log.warning("event=lab_alarm_event_not_stored error=%r", str(err))

    def _on_run(self, kind: str, run: Run, detail: Any) -> None:
        if kind == "sample":
            ts, values = detail
            self._broadcast({"type": "sample", "run_id": run.id, "t": round(ts - run.t0, 3), "values": list(values),
                             "shared": run.shared})  # fmt: skip
        elif kind == "annotation":
            self._broadcast({"type": "annotation", "run_id": run.id, "annotation": detail.as_dict(run.t0),
                             "shared": run.shared})  # fmt: skip
        else:
            self._broadcast({"type": "run", "run": run.as_dict(), "shared": run.shared})

    def _on_robot(self, robot_id: str, kind: str, detail: Any) -> None:
        if kind == "values":
            self._mark("robot", robot_id)
        else:
            self._broadcast({"type": kind, "robot_id": robot_id, "detail": detail})

    def _broadcast(self, message: dict[str, Any]) -> None:
        self._listeners.emit(message)

    # --- statements ----------------------------------------------------------------------------

    def _run_ended(self, run: Run) -> None:
        statement = run_statement(self.place, run)
        run.statement_id = statement["id"]
        if self.book is not None:
            self.book.save_run(run)
        task = asyncio.get_running_loop().create_task(self._record_statement(statement))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record_statement(self, statement: dict[str, Any]) -> None:
        if self._store is None:
            return
        try:
            await self._store.add_statements([statement])
        except StoreError as err:
            log.error("event=lab_statement_not_stored id=%s error=%r", statement["id"], str(err))


def _kits_from(settings: HubSettings) -> dict[str, VinaponicsKit]:
    devices = settings.device_list()
    actuators = [(device_id, d) for device_id, d in devices if d.kind == "actuator"]
    kits = {}
    for device_id, device in devices:
        if device.kind != "sensor_node":
            continue
        actuator = next((a for a, d in actuators if a == f"{device_id}-out"), None) or next(
            (a for a, d in actuators if device.group is not None and d.group == device.group), None
        )
        kits[device_id] = VinaponicsKit.from_settings(device_id, device.name, list(device.sensors), actuator)
    return kits



class _KitPass:
    """A kit's reports in one read pass of the bus, as the lab judges them.

    A real kit reports every 0.1-10 s, so a pass holds one report per kit, judged as it came.
    A pass holds many when the hub catches up with what the broker kept while it was away
    (up to 2,000 messages a pass) or when a kit floods. Judging every one of those costs more
    than storing it; the lab judges, in the order they came, the reports that can change its
    judgement:

    - for each sensor, each report whose value crosses a limit or the end of its hysteresis
      band (``LabAlarms.cuts``), and the report just before it (so a breach that lasted past
      its alarm delay raises the alarm, with the time of its last report before the crossing);
    - for each sensor, the lowest and the highest value of the pass (the alarm on a change
      within a window);
    - each device's last report (the kit's state after the pass, which safety acts on).

    The store keeps every reading; a kit an experiment records gets every report judged.
    Only the chosen reports are kept until the end of the pass.
    """

    __slots__ = ("_alarms", "_every", "_sensors", "chosen", "count", "kit", "last")

    def __init__(self, kit: VinaponicsKit, alarms: LabAlarms, *, every: bool = False) -> None:
        self.kit, self._alarms, self._every = kit, alarms, every
        self._sensors: dict[str, _SensorPass | None] = {}
        self.count = 0
        self.chosen: dict[int, tuple[str, Telemetry]] = {}
        self.last: dict[str, tuple[int, Telemetry]] = {}

    def add(self, device: str, telemetry: Telemetry) -> None:
        i = self.count
        self.count += 1
        if self._every:
            self.chosen[i] = (device, telemetry)
            return
        self.last[device] = (i, telemetry)
        sensors, chosen = self._sensors, self.chosen
        for reading in telemetry.readings:
            key = reading.key
            try:
                state = sensors[key]
            except KeyError:
                state = sensors[key] = self._start(key)
            if state is None:
                continue
            value = reading.value
            if reading.unit is not None and reading.unit != state.unit:
                value = to_canonical(key, value, reading.unit)
            if not state.low <= value <= state.high:  # a fault reading: flagged on the kit, never judged
                chosen[i] = (device, telemetry)
                continue
            if state.calibration is not None:
                value = state.calibration.apply(value)
            band = bisect.bisect_right(state.cuts, value)
            if band != state.band:
                state.band = band
                chosen[i] = (device, telemetry)
                if state.previous is not None:
                    chosen[state.previous_i] = (state.previous_device, state.previous)
            state.previous_i, state.previous_device, state.previous = i, device, telemetry
            if state.lowest is None or value < state.lowest[0]:
                state.lowest = (value, i, device, telemetry)
            if state.highest is None or value > state.highest[0]:
                state.highest = (value, i, device, telemetry)

    def _start(self, key: str) -> _SensorPass | None:
        sensor = SENSORS.get(key)
        if sensor is None:
            return None
        cuts = self._alarms.cuts(self.kit.id, key)
        return _SensorPass(sensor.unit, sensor.low, sensor.high, self.kit.calibrations.get(key), cuts)

    def reports(self) -> list[tuple[str, Telemetry]]:
        chosen = self.chosen
        for device, (i, t) in self.last.items():
            chosen[i] = (device, t)
        for state in self._sensors.values():
            for extreme in (state.lowest, state.highest) if state is not None else ():
                if extreme is not None:
                    chosen[extreme[1]] = (extreme[2], extreme[3])
        return [chosen[i] for i in sorted(chosen)]


class _SensorPass:
    """One sensor of a kit within a pass: what judging needs, and the reports that matter so far."""

    __slots__ = ("band", "calibration", "cuts", "high", "highest", "low", "lowest", "previous", "previous_device",
                 "previous_i", "unit")

    def __init__(
        self, unit: str, low: float, high: float, calibration: Calibration | None, cuts: tuple[float, ...]
    ) -> None:
        self.unit, self.low, self.high, self.calibration, self.cuts = unit, low, high, calibration, cuts
        self.band = -1
        self.previous: Telemetry | None = None
        self.previous_i = 0
        self.previous_device = ""
        self.lowest: tuple[float, int, str, Telemetry] | None = None
        self.highest: tuple[float, int, str, Telemetry] | None = None

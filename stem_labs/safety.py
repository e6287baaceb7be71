"""Safety rules that run on the hub whether or not anybody is logged in.

* **Pump interlock**: below ``low_level_pct`` the pump is switched off and kept off (a manual
  "pump on" is refused) until the level is back at ``level_ok_pct``; then it is switched back
  on if it was running before.
* **Aeration**: below ``do_low_mg_l`` the aerator is forced on (a manual "off" is refused)
  until dissolved oxygen is back at ``do_ok_mg_l``.
* **Grow lights** follow their schedule: set at every on/off time and when the hub starts; a
  kit that was away at one of those moments gets the schedule's state when it is back. A
  person may switch them in between (and a kit back from a pulled cable keeps that choice:
  the bridge restores its outputs).
* **Feeder**: at most ``feeds_per_day`` feedings per (local) day, however they are asked for.
* **Every actuator command is confirmed** by the device's reply, or an ``actuator_<output>``
  alarm is raised; a rule whose output does not follow (the telemetry still shows the pump
  on) sends again every few seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from classroom_hub.bus.commands import Commands
from classroom_hub.errors import CommandError
from classroom_hub.registry import DeviceRegistry
from stem_labs.alarms import LabAlarms
from stem_labs.errors import LabError, SafetyRefusal
from stem_labs.kits import VinaponicsKit, seconds_of_day

log = logging.getLogger(__name__)

RESEND_AFTER_S = 5.0


@dataclass
class _KitState:
    pump_interlock: bool = False
    pump_restore: bool = False
    aerator_forced: bool = False
    last_sent: dict[str, float] = field(default_factory=dict)
    in_flight: set[str] = field(default_factory=set)
    lights_timer: asyncio.TimerHandle | None = None
    lights_missed: bool = True  # the schedule could not be applied (kit away): apply it when it is back


class FeedingBook(Protocol):
    """Where feedings are counted (stem_labs/labbook.py)."""

    def add_feeding(self, kit_id: str, ts: float, portions: int, by: str) -> None: ...
    async def feedings_since(self, kit_id: str, since: float) -> int: ...


class Safety:
    def __init__(
        self,
        commands: Commands,
        registry: DeviceRegistry,
        alarms: LabAlarms,
        book: FeedingBook | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._commands = commands
        self._registry = registry
        self._alarms = alarms
        self._book = book
        self._clock = clock
        self.kits: dict[str, VinaponicsKit] = {}
        self._state: dict[str, _KitState] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self.commands_sent: Counter[str] = Counter()  # by output, for tests and /metrics

    # --- lifecycle -----------------------------------------------------------------------------

    def attach(self, kit: VinaponicsKit) -> None:
        self.kits[kit.id] = kit
        self._state[kit.id] = _KitState()

    def start(self) -> None:
        for kit in self.kits.values():
            self.schedule_lights(kit)

    def kit_online(self, kit: VinaponicsKit) -> None:
        """The kit is back: apply the light schedule if it missed it."""
        if self._closed or not self._state[kit.id].lights_missed:
            return
        self.schedule_lights(kit)

    async def close(self) -> None:
        self._closed = True
        for state in self._state.values():
            if state.lights_timer is not None:
                state.lights_timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def state(self, kit_id: str) -> dict[str, bool]:
        s = self._state[kit_id]
        return {"pump_interlock": s.pump_interlock, "aerator_forced": s.aerator_forced}

    def output_device(self, kit: VinaponicsKit) -> str | None:
        """The device that drives the kit's outputs: the node if it says so, else its actuator."""
        record = self._registry.get(kit.id)
        if record is not None and "pump" in (record.extra.get("outputs") or ()):
            return kit.id
        return kit.actuator_id

    # --- rules on readings ---------------------------------------------------------------------

    def on_readings(self, kit: VinaponicsKit) -> None:
        state, rules = self._state[kit.id], kit.rules
        level = kit.value("level")
        if level is not None:
            if not state.pump_interlock and level < rules.low_level_pct:
                state.pump_interlock = True
                state.pump_restore = kit.outputs.get("pump", False)
                log.warning("event=pump_interlock kit=%s level=%.1f", kit.id, level)
                self._fire(kit, "pump", "set", {"pump": False}, f"water level {level:.0f} % is low")
            elif state.pump_interlock and level >= rules.level_ok_pct:
                state.pump_interlock = False
                log.info("event=pump_interlock_released kit=%s level=%.1f restore=%s", kit.id, level,
                         state.pump_restore)
                if state.pump_restore:
                    self._fire(kit, "pump", "set", {"pump": True}, "water level back")
            elif state.pump_interlock and kit.outputs.get("pump"):
                self._fire(kit, "pump", "set", {"pump": False}, "pump still on with the tank low", resend=True)
        oxygen = kit.value("do")
        if oxygen is not None:
            if not state.aerator_forced and oxygen < rules.do_low_mg_l:
                state.aerator_forced = True
                log.warning("event=aerator_forced kit=%s do=%.2f", kit.id, oxygen)
                self._fire(kit, "aerator", "set", {"aerator": True}, f"dissolved oxygen {oxygen:.1f} mg/L is low")
            elif state.aerator_forced and oxygen >= rules.do_ok_mg_l:
                state.aerator_forced = False
            elif state.aerator_forced and kit.outputs.get("aerator") is False:
                self._fire(kit, "aerator", "set", {"aerator": True}, "aerator still off with oxygen low", resend=True)

    def on_level_low_event(self, kit: VinaponicsKit, level: float) -> None:
        """The node's own ``level_low`` event: act on it before the next telemetry."""
        state = self._state[kit.id]
        if not state.pump_interlock:
            state.pump_interlock = True
            state.pump_restore = kit.outputs.get("pump", False)
            log.warning("event=pump_interlock kit=%s level=%.1f source=event", kit.id, level)
            self._fire(kit, "pump", "set", {"pump": False}, f"water level {level:.0f} % is low")

    # --- asked by a person ---------------------------------------------------------------------

    async def set_output(self, kit: VinaponicsKit, output: str, on: bool, by: str) -> None:
        state = self._state[kit.id]
        if output == "pump" and on and state.pump_interlock:
            raise SafetyRefusal(f"the tank is low: the pump stays off until the level is {kit.rules.level_ok_pct:g} %")
        if output == "aerator" and not on and state.aerator_forced:
            raise SafetyRefusal(f"dissolved oxygen is low: the aerator stays on until {kit.rules.do_ok_mg_l:g} mg/L")
        if output not in ("pump", "aerator", "lights"):
            raise LabError(f"no output {output!r} (pump, aerator, lights)")
        log.info("event=output_requested kit=%s output=%s on=%s by=%s", kit.id, output, on, by)
        if not await self._send(kit, output, "set", {output: on}, f"asked by {by}"):
            raise LabError(f"{output} did not confirm the command (see the kit's alarms)")

    async def feed(self, kit: VinaponicsKit, portions: int, by: str) -> int:
        """Feed now if today's count allows; returns the feedings today including this one."""
        done = await self.feedings_today(kit)
        if done >= kit.rules.feeds_per_day:
            raise SafetyRefusal(f"fed {done} times today already (at most {kit.rules.feeds_per_day} a day)")
        if not await self._send(kit, "feeder", "feed", {"portions": portions}, f"asked by {by}"):
            raise LabError("the feeder did not confirm the command (see the kit's alarms)")
        if self._book is not None:
            self._book.add_feeding(kit.id, self._clock(), portions, by)
        kit.fed_today = done + 1
        return kit.fed_today

    async def feedings_today(self, kit: VinaponicsKit) -> int:
        if self._book is None:
            return kit.fed_today
        midnight = datetime.fromtimestamp(self._clock()).astimezone().replace(hour=0, minute=0, second=0,
                                                                                microsecond=0)  # fmt: skip
        kit.fed_today = await self._book.feedings_since(kit.id, midnight.timestamp())
        return kit.fed_today

    # --- the lights schedule -------------------------------------------------------------------

    def schedule_lights(self, kit: VinaponicsKit, *, enforce: bool = True) -> None:
        """Set the lights as the schedule says now (``enforce``) and wake at the next on/off time."""
        state = self._state[kit.id]
        if state.lights_timer is not None:
            state.lights_timer.cancel()
            state.lights_timer = None
        rules = kit.rules
        if not rules.lights_schedule or self._closed:
            return
        now = datetime.fromtimestamp(self._clock()).astimezone()
        second = now.hour * 3600 + now.minute * 60 + now.second + now.microsecond / 1e6
        if enforce:
            due = rules.lights_due(second)
            if self.output_device(kit) is None:
                state.lights_missed = True
            elif kit.outputs.get("lights") is due:
                state.lights_missed = False
            elif "lights" not in state.in_flight:
                self._spawn(self._apply_lights(kit, due))
        waits = [(seconds_of_day(t) - second) % 86400 or 86400 for t in (rules.lights_on, rules.lights_off)]
        delay = min(waits)
        state.lights_timer = asyncio.get_running_loop().call_later(delay, self._lights_time, kit.id)
        log.debug("event=lights_next kit=%s at=%s", kit.id, (now + timedelta(seconds=delay)).isoformat())

    async def _apply_lights(self, kit: VinaponicsKit, due: bool) -> None:
        ok = await self._send(kit, "lights", "set", {"lights": due}, "grow light schedule")
        self._state[kit.id].lights_missed = not ok

    def _lights_time(self, kit_id: str) -> None:
        self._state[kit_id].lights_timer = None
        self.schedule_lights(self.kits[kit_id])

    # --- commands ------------------------------------------------------------------------------

    def _fire(self, kit: VinaponicsKit, output: str, name: str, args: dict[str, Any], reason: str,
              *, resend: bool = False) -> None:  # fmt: skip
        state = self._state[kit.id]
        if output in state.in_flight:
            return
        if resend and self._clock() - state.last_sent.get(output, 0.0) < RESEND_AFTER_S:
            return
        self._spawn(self._send(kit, output, name, args, reason))

    async def _send(self, kit: VinaponicsKit, output: str, name: str, args: dict[str, Any], reason: str) -> bool:
        state = self._state[kit.id]
        device = self.output_device(kit)
        kind = f"actuator_{output}"
        if device is None:
            self._alarms.raise_alarm(kit.id, kind, "alarm", f"{name} {args} ({reason}): the kit has no outputs "
                                     "configured or online")  # fmt: skip
            return False
        state.in_flight.add(output)
        state.last_sent[output] = self._clock()
        self.commands_sent[output] += 1
        try:
            await self._commands.send(device, name, args, timeout=kit.rules.command_timeout_s)
        except CommandError as err:
            detail = f"{name} {args} ({reason}) not confirmed by {device}: {err}"
            self._alarms.raise_alarm(kit.id, kind, "alarm", detail)
            return False
        finally:
            state.in_flight.discard(output)
        log.info("event=actuator_confirmed kit=%s device=%s command=%s args=%s reason=%r", kit.id, device, name,
                 args, reason)  # fmt: skip
        if output in ("pump", "aerator", "lights"):
            kit.outputs[output] = bool(args[output])
        self._alarms.clear(kit.id, kind)
        return True

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

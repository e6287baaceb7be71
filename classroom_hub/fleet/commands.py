"""Commands to one device or to many, with a result per device and a one-line summary.

Every command from the console, the teacher's page or the HTTP API goes through here, so
a display on RS-232 and a headset on MQTT are commanded the same way: devices wired to
the hub (``DirectRoute``, see classroom_hub/wired/part.py) are called directly, every
other device gets an MQTT ``cmd`` and answers on ``reply`` (classroom_hub/bus/commands.py).

A group command goes to every chosen device at once; devices the registry knows to be
away are not waited for, and the summary says so: "38/40 launched, 2 offline: H07, H22".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from classroom_hub.alarms import DeviceAlarms
from classroom_hub.bus.commands import Commands
from classroom_hub.errors import BusError, CommandError, CommandFailed, CommandTimeout
from classroom_hub.registry import DeviceRegistry
from device_drivers.kinds import command_spec

log = logging.getLogger(__name__)

Outcome = Literal["ok", "failed", "no_reply", "offline", "unknown_device"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "failed", "no_reply", "offline", "unknown_device")
Route = Literal["mqtt", "direct"]

DEFAULT_TIMEOUT_S = 5.0  # a command's own time limit, if any, is in its kind's catalogue


def _done_word(command: str) -> str:
    """What the summary says a successful command did ("38/40 launched"), from the catalogues."""
    spec = command_spec(command)
    return spec.done if spec is not None else "done"


def _timeout(command: str) -> float:
    spec = command_spec(command)
    return spec.timeout_s if spec is not None and spec.timeout_s is not None else DEFAULT_TIMEOUT_S


_OUTCOME_WORD: dict[str, str] = {
    "failed": "failed",
    "no_reply": "no reply",
    "offline": "offline",
    "unknown_device": "not in the room file",
}


def _away(state: str, last_seen: float | None) -> str:
    if last_seen is None:
        return "not heard from since the hub started"
    return f"{state}, last seen {time.strftime('%H:%M:%S', time.localtime(last_seen))}"


class InvalidRequest(CommandError):
    """The command itself is wrong (unknown name, bad arguments): the device is not to blame."""

    code = "invalid_request"
    http_status = 400


class DirectRoute(Protocol):
    """Devices the hub talks to itself (serial, TCP) rather than over MQTT."""

    def handles(self, device_id: str) -> bool: ...

    async def execute(self, device_id: str, name: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
        """The command's result; raises CommandFailed, CommandTimeout or InvalidRequest."""
        ...


@dataclass(frozen=True, slots=True)
class DeviceResult:
    device_id: str
    outcome: Outcome
    latency_ms: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GroupResult:
    command: str
    results: list[DeviceResult]
    started_at: float
    duration_ms: float

    def counts(self) -> dict[str, int]:
        counted = Counter(r.outcome for r in self.results)
        return {outcome: counted.get(outcome, 0) for outcome in OUTCOMES}

    def ids(self, outcome: Outcome) -> list[str]:
        return [r.device_id for r in self.results if r.outcome == outcome]

    def summary(self) -> str:
        """"38/40 launched, 2 offline: H07, H22; 1 failed: H03" (English, for logs and the API;
        pages build their own from ``counts`` and ``results``)."""
        done = f"{self.counts()['ok']}/{len(self.results)} {_done_word(self.command)}"
        missing = [
            f"{len(ids)} {_OUTCOME_WORD[outcome]}: {', '.join(ids)}"
            for outcome in ("offline", "no_reply", "failed", "unknown_device")
            if (ids := self.ids(outcome))
        ]
        return f"{done}, {'; '.join(missing)}" if missing else done

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "summary": self.summary(),
            "counts": self.counts(),
            "total": len(self.results),
            "started_at": self.started_at,
            "duration_ms": round(self.duration_ms, 1),
            "results": [r.as_dict() for r in self.results],
        }


# Seconds. Loopback MQTT answers in ~1 ms; a display on RS-232 in ~50 ms; a headset that
# fetches a scene first in seconds.
LATENCY_BUCKETS_S: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class LatencyHistogram:
    """Command-to-reply time per route, as cumulative Prometheus buckets."""

    buckets: tuple[float, ...] = LATENCY_BUCKETS_S
    counts: dict[str, list[int]] = field(default_factory=dict)
    sums: dict[str, float] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)

    def observe(self, route: str, seconds: float) -> None:
        counts = self.counts.setdefault(route, [0] * len(self.buckets))
        for i, bound in enumerate(self.buckets):
            if seconds <= bound:
                counts[i] += 1
        self.sums[route] = self.sums.get(route, 0.0) + seconds
        self.totals[route] = self.totals.get(route, 0) + 1


class FleetCommands:
    def __init__(
        self,
        commands: Commands,
        registry: DeviceRegistry,
        alarms: DeviceAlarms | None = None,
        direct: DirectRoute | None = None,
    ) -> None:
        self._commands = commands
        self._registry = registry
        self._alarms = alarms
        self.direct = direct
        self.latency = LatencyHistogram()
        self.results: Counter[str] = Counter()  # by outcome, for /metrics

    async def send(
        self,
        device_id: str,
        name: str,
        args: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        include_offline: bool = False,
        alarm: bool = True,
    ) -> DeviceResult:
        """Command one device; never raises for the device's sake (the outcome says what happened).

        ``alarm=False``: a refusal is a state its caller shows (a headset that cannot fetch a
        scene), not an alarm on the technician's page."""
        result = await self._send(device_id, name, dict(args or {}), timeout, include_offline, alarm)
        self.results[result.outcome] += 1
        return result

    async def send_group(
        self,
        device_ids: Sequence[str],
        name: str,
        args: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        include_offline: bool = False,
        alarm: bool = True,
    ) -> GroupResult:
        """Command every device at once; the slowest decides how long this takes (at most ``timeout``).
        ``alarm=False``: a refusal is the caller's to show (a lesson's content a device cannot
        open), not a device fault for the technician."""
        started_at, started = time.time(), time.perf_counter()
        unique = list(dict.fromkeys(device_ids))
        results = await asyncio.gather(
            *(self.send(d, name, args, timeout=timeout, include_offline=include_offline, alarm=alarm) for d in unique)
        )
        group = GroupResult(name, list(results), started_at, (time.perf_counter() - started) * 1000)
        log.info("event=group_command command=%s devices=%d summary=%r duration_ms=%.1f",
                 name, len(unique), group.summary(), group.duration_ms)  # fmt: skip
        return group

    async def _send(
        self,
        device_id: str,
        name: str,
        args: dict[str, Any],
        timeout: float | None,
        include_offline: bool,
        alarm: bool = True,
    ) -> DeviceResult:
        record = self._registry.get(device_id)
        if record is None:
            return DeviceResult(device_id, "unknown_device", error="not in the room file")
        timeout = timeout or _timeout(name)
        direct = self.direct is not None and self.direct.handles(device_id)
        # A wired device is worth trying even when its last poll failed: the command reconnects.
        if record.state != "online" and not include_offline and not direct:
            return DeviceResult(device_id, "offline", error=_away(record.state, record.last_seen))
        route: Route = "direct" if direct else "mqtt"
        started = time.perf_counter()
        try:
            if direct:
                assert self.direct is not None
                result: dict[str, Any] | None = await self.direct.execute(device_id, name, args, timeout)
            else:
                reply = await self._commands.send(device_id, name, args, timeout=timeout)
                result = reply.result
        except CommandTimeout as err:
            return self._failed(device_id, name, "no_reply", str(err), None, alarm)
        except InvalidRequest as err:
            return DeviceResult(device_id, "failed", None, None, str(err))
        except CommandFailed as err:
            return self._failed(device_id, name, "failed", err.error, self._observe(route, started), alarm)
        except (CommandError, BusError) as err:
            return self._failed(device_id, name, "failed", str(err), None, alarm)
        latency_ms = self._observe(route, started)
        if self._alarms is not None:
            self._alarms.command_ok(device_id)
        return DeviceResult(device_id, "ok", latency_ms, result or {})

    def _observe(self, route: str, started: float) -> float:
        seconds = time.perf_counter() - started
        self.latency.observe(route, seconds)
        return round(seconds * 1000, 2)

    def _failed(
        self, device_id: str, name: str, outcome: Outcome, error: str, latency_ms: float | None, alarm: bool = True
    ) -> DeviceResult:
        log.warning("event=command_failed device=%s command=%s outcome=%s error=%r", device_id, name, outcome, error)
        if self._alarms is not None and alarm:
            self._alarms.command_failed(device_id, f"{name}: {error}")
        return DeviceResult(device_id, outcome, latency_ms, None, error)

"""The hub's own faults as alarms: its store, its disk, its broker, its destinations.

Each part says what is wrong with it through a *check*: a function returning the faults it
sees now (none when all is well). The watch runs every check every ``interval_s``, raises
an alarm (source ``hub``) for each new fault through the room's one alarm service, refreshes
its detail while it lasts and clears it once the check no longer reports it. So a fault is
seen the same way everywhere: on /tech (the alarm list), on /healthz (``alarms``), on
/metrics (``alarms_raised_total``) and in one log line (``event=alarm_raised``), and it
clears itself when the part has healed, with nobody restarting anything.

The core's checks (store, disk, broker) are added by classroom_hub/app.py; a package adds
its own (the pusher: one per destination it cannot reach).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from classroom_hub.alarms.model import Severity
from classroom_hub.alarms.service import AlarmService
from classroom_hub.errors import swallowed

log = logging.getLogger(__name__)

SOURCE = "hub"
# What the hub's own alarms are about (the technician page names each, classroom_hub/fleet/i18n).
HUB_ALARM_KINDS = (
    "store_failing", "store_budget", "disk_low", "broker_lost", "push_failing", "roster_pull_failing",
    "materials_sync_failing",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Fault:
    part: str  # "store", "disk", "broker", a destination's name: the alarm's device column
    kind: str  # one of HUB_ALARM_KINDS
    detail: str  # the true reason, as the part knows it
    severity: Severity = "alarm"


Check = Callable[[], Iterable[Fault]]


class HubWatch:
    def __init__(self, alarms: AlarmService, *, interval_s: float = 2.0) -> None:
        self.alarms = alarms
        self.interval_s = interval_s
        self._checks: dict[str, Check] = {}
        self._raised: set[tuple[str, str, Severity]] = set()

    def add(self, name: str, check: Check) -> Callable[[], None]:
        """Run ``check`` with every round; returns its remover (its alarms clear next round)."""
        self._checks[name] = check

        def remove() -> None:
            self._checks.pop(name, None)

        return remove

    def check(self) -> list[Fault]:
        """One round: raise what is wrong now, clear what no longer is; returns the faults."""
        faults: list[Fault] = []
        for name, check in list(self._checks.items()):
            try:
                faults.extend(check())
            except Exception:  # a check's bug must not hide the other parts' faults
                swallowed("hub_check_failed", check=name)
        now = set()
        for fault in faults:
            self.alarms.raise_alarm(fault.part, fault.kind, fault.detail, severity=fault.severity, source=SOURCE)
            now.add((fault.part, fault.kind, fault.severity))
        for part, kind, severity in self._raised - now:
            self.alarms.clear(part, kind, source=SOURCE, severity=severity)
        self._raised = now
        return faults

    def active(self) -> list[dict[str, object]]:
        """The hub's active alarms, as /healthz lists them."""
        return [
            {"part": a.device_id, "kind": a.kind, "severity": a.severity, "detail": a.detail, "since": a.raised_at}
            for a in self.alarms.active(source=SOURCE)
        ]

    async def run(self) -> None:
        while True:
            self.check()
            await asyncio.sleep(self.interval_s)


def disk_check(path: Path, free_min_mb: int) -> Check:
    """Alarm when the file system holding the hub's data has less than ``free_min_mb`` free
    (a warning below twice that): the store's own budget measures its files, not the disk."""

    def check() -> list[Fault]:
        free = disk_free_bytes(path)
        if free is None:
            return [Fault("disk", "disk_low", f"cannot measure free space of {path}")]
        mb = free / 1e6
        if mb < free_min_mb:
            return [Fault("disk", "disk_low", f"{mb:.1f} MB free on the disk of {path} (needs {free_min_mb} MB)")]
        if mb < 2 * free_min_mb:
            return [Fault("disk", "disk_low", f"{mb:.0f} MB free on the disk of {path}", "warning")]
        return []

    return check


def disk_free_bytes(path: Path) -> int | None:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None

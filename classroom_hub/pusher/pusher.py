"""The pusher: a courier per destination, the store's budget, the roster pull and the materials sync.

``Pusher(settings, store)`` without ``start()`` still answers ``report()`` from what the
store holds (queue depths, quarantine, what each destination last did), which is how
``classroom-hub push status`` works while the hub is off.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from classroom_hub.backoff import Backoff
from classroom_hub.errors import swallowed
from classroom_hub.fleet.scenes.shelf import SceneShelf
from classroom_hub.lessons import LessonLibrary
from classroom_hub.pusher.budget import BudgetState, StoreBudget, policy_lines
from classroom_hub.pusher.courier import Courier
from classroom_hub.pusher.destination import HubIdentity, load_destination
from classroom_hub.pusher.errors import DestinationUnavailable, MaterialsError, Unreachable
from classroom_hub.pusher.ledger import Ledger
from classroom_hub.pusher.materials import MaterialsBank, SyncReport
from classroom_hub.pusher.privacy import Pseudonymiser, mask_personal
from classroom_hub.pusher.roster_pull import RosterPull, roster_cache_path
from classroom_hub.pusher.settings import PushDestination, central_of
from classroom_hub.store import TelemetryStore
from config.settings import HubSettings

log = logging.getLogger(__name__)

_BUDGET_CHECK_S = 60.0
_PRESSURE_RERUN_S = 300.0
_FIRST_HOUSEKEEPING_S = 60.0


@dataclass
class DestinationReport:
    name: str
    kind: str
    where: str
    state: str  # starting, pushing, idle, waiting, disabled, unavailable, stopped; "saved:" prefix when the hub is off
    streams: list[str]
    queue: dict[str, int]
    oldest_undelivered_s: float | None
    last_success: float | None
    last_error: str | None
    last_error_at: float | None
    next_attempt_at: float | None
    delivered: dict[str, int]
    already_there: dict[str, int]
    quarantined: int
    pseudonymise: bool

    @property
    def depth(self) -> int:
        return sum(self.queue.values())


@dataclass
class PushReport:
    running: bool
    hub_id: str
    destinations: list[DestinationReport]
    store: dict[str, Any]
    roster: dict[str, Any] | None
    materials: dict[str, Any] | None
    generated_at: float = field(default_factory=time.time)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        for item, report in zip(out["destinations"], self.destinations, strict=True):
            item["depth"] = report.depth
        return out


def hub_identity(settings: HubSettings) -> HubIdentity:
    room = settings.room
    return HubIdentity(
        hub_id=central_of(settings).hub_id or f"hub-{room.school_code}-{room.id}",
        school_code=room.school_code,
        room_id=room.id,
        device_kinds={device_id: d.kind for device_id, d in settings.device_list()},
    )


class Pusher:
    def __init__(self, settings: HubSettings, store: TelemetryStore) -> None:
        self.settings = settings
        self.central = central = central_of(settings)
        self.store = store
        self.hub = hub_identity(settings)
        self.ledger = Ledger(store.path)
        self.options: dict[str, PushDestination] = {d.name: d for d in central.destination_list()}
        takers = {name: d.stream_list() for name, d in self.options.items() if d.enabled}
        self.budget = StoreBudget(self.ledger, central, takers, disk_free_min_mb=settings.store.disk_free_min_mb)
        self.couriers: dict[str, Courier] = {}
        self.unavailable: dict[str, str] = {}
        self.roster: RosterPull | None = None
        self.materials_report: SyncReport | None = None
        self.materials_error: str | None = None
        self.materials_at: float | None = None
        self.materials_failures = 0  # failed syncs since the start (/metrics)
        self.running = False
        self._tasks: list[asyncio.Task[None]] = []
        self._lock: TextIO | None = None
        self._materials_wake = asyncio.Event()
        roster_dsn = central.roster_source()
        if roster_dsn is not None and central.roster_pull_interval_min > 0:
            self.roster = RosterPull(
                roster_dsn.get_secret_value(),
                settings.room.school_code,
                roster_cache_path(settings.data_dir),
                interval_s=central.roster_pull_interval_min * 60,
                backoff=Backoff(central.retry_min_s, central.retry_max_s),
            )

    # --- lifecycle --------------------------------------------------------------------

    def build_couriers(self) -> None:
        central = self.central
        pseudonymiser = (
            Pseudonymiser(central.pseudonym_key.get_secret_value().encode(), central.pseudonym_home_page)
            if central.pseudonym_key is not None
            else None
        )
        for name, options in self.options.items():
            if not options.enabled:
                continue
            try:
                destination = load_destination(options, self.hub)
            except DestinationUnavailable as err:
                self.unavailable[name] = str(err)
                log.error("event=push_destination_unavailable destination=%s reason=%r", name, str(err))
                continue
            self.couriers[name] = Courier(
                destination,
                self.store,
                self.ledger,
                batch_size=options.batch_size,
                backoff=Backoff(central.retry_min_s, central.retry_max_s),
                idle_s=central.idle_check_s,
                pseudonymiser=pseudonymiser if options.pseudonymise else None,
            )

    async def start(self) -> None:
        """Start every courier and the housekeeping, roster and materials schedules in the background."""
        self.build_couriers()
        self.running = True
        self._tasks.append(asyncio.create_task(self._run_when_locked(), name="pusher"))
        _WAKERS.add(self.wake)
        _install_wake_signal()

    async def _run_when_locked(self) -> None:
        # One pusher per store: `classroom-hub push now` may hold the lock for a moment.
        while not self.take_lock():
            log.info("event=push_waiting_for_lock path=%s", self.lock_path)
            await asyncio.sleep(self.central.idle_check_s)
        for name, courier in self.couriers.items():
            self._tasks.append(asyncio.create_task(courier.run(), name=f"courier-{name}"))
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="store-budget"))
        if self.roster is not None:
            self._tasks.append(asyncio.create_task(self.roster.run(), name="roster-pull"))
        if self.central.materials_url and self.central.materials_sync_interval_min > 0:
            self._tasks.append(asyncio.create_task(self._materials_schedule(), name="materials-sync"))

    async def close(self) -> None:
        _WAKERS.discard(self.wake)
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.running = False
        self.release_lock()
        await self.ledger.close()

    @property
    def lock_path(self) -> Path:
        return self.settings.data_dir / "pusher.lock"

    def take_lock(self) -> bool:
        """Hold the store's pusher lock (with our pid in it); False if another process has it."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.lock_path, "a+")  # noqa: SIM115 - held open while pushing
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock = handle
        return True

    def release_lock(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def wake(self) -> None:
        """``push now``: every courier looks for rows at once, waiting ones retry at once."""
        for courier in self.couriers.values():
            courier.wake()
        if self.roster is not None:
            self.roster.wake()

    # --- schedules --------------------------------------------------------------------

    async def _housekeeping(self) -> None:
        # The first run a minute after the start, so a hub restarted every day still runs it.
        last_run = time.monotonic() - max(0.0, self.central.housekeeping_interval_s - _FIRST_HOUSEKEEPING_S)
        while True:
            try:
                state = await self.budget.check()
                due = time.monotonic() - last_run >= self.central.housekeeping_interval_s
                if due or (state.level == "over" and time.monotonic() - last_run >= _PRESSURE_RERUN_S):
                    last_run = time.monotonic()
                    await self.budget.housekeep()
                    await self.budget.check()
            except Exception:  # a failed run is tried again next time; the hub goes on
                swallowed("store_housekeeping_failed")
            await asyncio.sleep(min(_BUDGET_CHECK_S, self.central.housekeeping_interval_s))

    async def _materials_schedule(self) -> None:
        while True:
            with contextlib.suppress(MaterialsError):  # noted in materials_error; tried again next time
                await self.sync_materials()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._materials_wake.wait(), self.central.materials_sync_interval_min * 60)
            self._materials_wake.clear()

    async def sync_materials(self) -> SyncReport:
        central = self.central
        if not central.materials_url:
            raise MaterialsError("no materials bank configured (central.materials_url)")
        bank = MaterialsBank(
            central.materials_url,
            self.settings.data_dir / "materials",
            LessonLibrary(self.settings.data_dir / "lessons"),
            shelf=SceneShelf(self.settings.data_dir / "scenes"),
            token=central.materials_token.get_secret_value() if central.materials_token else None,
        )
        try:
            async with bank:
                report = await bank.sync(self.settings.room.school_code)
        except Exception as err:
            # The bank away or answering nonsense, the hub's disk: noted for the alarm, tried again next time.
            known = isinstance(err, MaterialsError | OSError)
            self.materials_error = mask_personal(str(err) if known else f"{type(err).__name__}: {err}")
            self.materials_failures += 1
            log.warning("event=materials_sync_failed error=%r", self.materials_error)
            if isinstance(err, MaterialsError):
                raise
            raise MaterialsError(self.materials_error) from err
        self.materials_report, self.materials_error, self.materials_at = report, None, time.time()
        return report

    # --- push now (no hub running) ----------------------------------------------------

    async def drain_now(self, on_batch: Callable[[], None] | None = None) -> dict[str, str | None]:
        """Deliver everything queued, once, to every destination; returns the error per destination."""
        if not self.couriers:
            self.build_couriers()
        errors: dict[str, str | None] = {}
        for name, courier in self.couriers.items():
            courier.on_batch = on_batch
            try:
                await courier.drain_once()
                errors[name] = None
            except Unreachable as err:
                errors[name] = courier.last_error = mask_personal(str(err))
                courier.last_error_at = time.time()
            finally:
                courier.state = "idle" if errors.get(name) is None else "waiting"
                await courier.close()
        return errors

    # --- figures ----------------------------------------------------------------------

    async def queue_depths(self) -> dict[str, dict[str, int]]:
        out = {}
        for name, options in self.options.items():
            depth = await self.store.outbox_depth(name)
            out[name] = {s: depth[s] for s in options.stream_list()}
        return out

    async def report(self) -> PushReport:
        saved = await self.ledger.saved_status()
        quarantined = await self.ledger.quarantine_counts()
        destinations = []
        for name, options in self.options.items():
            streams = list(options.stream_list())
            depth = await self.store.outbox_depth(name)
            queue = {s: depth[s] for s in streams}
            cursors = {s: await self.store.cursor(name, s) for s in streams}
            oldest = await self.ledger.oldest_after(cursors)
            courier = self.couriers.get(name)
            last = saved.get(name)
            if courier is not None:
                state: str = courier.state
                last_success, last_error = courier.last_success, courier.last_error
                last_error_at, next_attempt = courier.last_error_at, courier.next_attempt_at
                delivered, already = dict(courier.delivered), dict(courier.already)
                where = courier.destination.describe()
            else:
                state = "disabled" if not options.enabled else "unavailable" if name in self.unavailable else "saved"
                if last is not None and state == "saved":
                    state = f"saved:{last.state}"
                last_success = last.last_success if last else None
                last_error = self.unavailable.get(name) or (last.last_error if last else None)
                last_error_at = last.last_error_at if last else None
                next_attempt, delivered, already = None, {}, {}
                where = options.kind
            destinations.append(
                DestinationReport(
                    name=name, kind=options.kind, where=where, state=state, streams=streams, queue=queue,
                    oldest_undelivered_s=(time.time() - oldest) if oldest is not None else None,
                    last_success=last_success, last_error=last_error, last_error_at=last_error_at,
                    next_attempt_at=next_attempt, delivered=delivered, already_there=already,
                    quarantined=quarantined.get(name, 0), pseudonymise=options.pseudonymise,
                )
            )  # fmt: skip
        budget: BudgetState = self.budget.state if self.budget.state.checked_at else await self.budget.check()
        store = {
            "used_bytes": budget.used_bytes,
            "budget_bytes": budget.budget_bytes,
            "percent": round(budget.percent, 1),
            "alarm": budget.level,
            "alarm_message": budget.message() if budget.level != "ok" else None,
            "policy": policy_lines(self.central),
            "housekeeping": await self.ledger.housekeeping_log(10),
        }
        roster = None
        if self.roster is not None:
            roster = {"last_pull": self.roster.last_pull, "last_error": self.roster.last_error,
                      "last_error_at": self.roster.last_error_at, "counts": self.roster.counts,
                      "failures": self.roster.failures}  # fmt: skip
        materials = None
        if self.central.materials_url:
            report = self.materials_report
            materials = {
                "last_sync": self.materials_at,
                "last_error": self.materials_error,
                "fetched": report.fetched if report else [],
                "failed": report.failed if report else {},
                "failures": self.materials_failures,
            }
        return PushReport(self.running, self.hub.hub_id, destinations, store, roster, materials)


# --- waking a running hub from `classroom-hub push now` (SIGUSR1) ---------------------------

_WAKERS: set[Callable[[], None]] = set()


def _wake_all() -> None:
    for wake in list(_WAKERS):
        wake()


def _install_wake_signal() -> None:
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread, not Unix
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, _wake_all)


def lock_holder(data_dir: Path) -> int | None:
    """The pid of the process pushing from this data directory, or None if nobody is."""
    path = data_dir / "pusher.lock"
    try:
        with open(path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.seek(0)
                text = handle.read().strip()
                return int(text) if text.isdigit() else None
            return None
    except OSError:
        return None

"""``classroom-hub push|roster|central|materials ...``: the pusher and its exchanges from a terminal.

Every command reads the room file (``-c``) for the data directory and the destinations,
and works whether the hub is running or not: ``push status`` reads the store, ``push now``
wakes the running hub (SIGUSR1) or pushes by itself when the hub is off.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from classroom_hub.pusher.errors import PushError
from classroom_hub.pusher.pusher import DestinationReport, Pusher, PushReport, lock_holder
from classroom_hub.pusher.settings import central_of
from classroom_hub.store import TelemetryStore
from config.loader import load_settings
from config.settings import HubSettings


def register(sub: Any) -> None:
    push = sub.add_parser("push", help="deliver the hub's records to the central database and LRSs")
    push_sub = push.add_subparsers(metavar="ACTION")
    status = push_sub.add_parser("status", help="queue, last success and last error per destination")
    status.add_argument("-c", "--config", required=True, type=Path)
    status.add_argument("--json", action="store_true", help="the same report as GET /api/push")
    status.set_defaults(func=_push_status)
    now = push_sub.add_parser("now", help="deliver everything queued now, with a progress bar")
    now.add_argument("-c", "--config", required=True, type=Path)
    now.add_argument("--stall-s", type=float, default=30.0, help="give up after this long without progress")
    now.set_defaults(func=_push_now)
    quarantine = push_sub.add_parser("quarantine", help="records a destination refused, with the reason")
    quarantine.add_argument("-c", "--config", required=True, type=Path)
    quarantine.add_argument("--destination")
    quarantine.add_argument("--limit", type=int, default=50)
    quarantine.set_defaults(func=_push_quarantine)

    roster = sub.add_parser("roster", help="the hub's roster: OneRoster bundles in and out, pull from the centre")
    roster_sub = roster.add_subparsers(metavar="ACTION")
    imp = roster_sub.add_parser("import", help="import a OneRoster 1.1 bundle (folder or .zip) into the hub")
    imp.add_argument("file", type=Path)
    imp.add_argument("-c", "--config", required=True, type=Path)
    imp.set_defaults(func=_roster_import)
    exp = roster_sub.add_parser("export", help="write the hub's roster as a OneRoster 1.1 bundle (folder or .zip)")
    exp.add_argument("dir", type=Path)
    exp.add_argument("-c", "--config", required=True, type=Path)
    exp.add_argument("--bom", action="store_true", help="byte order mark, for Excel")
    exp.set_defaults(func=_roster_export)
    pull = roster_sub.add_parser("pull", help="pull the school's roster from the central database now")
    pull.add_argument("-c", "--config", required=True, type=Path)
    pull.set_defaults(func=_roster_pull)

    central = sub.add_parser("central", help="the central PostgreSQL database")
    central_sub = central.add_subparsers(metavar="ACTION")
    migrate = central_sub.add_parser("migrate", help="create or upgrade the central schema (safe to run twice)")
    migrate.add_argument("--dsn", help="postgresql://owner:PASSWORD@host:5432/edu (default: from -c)")
    migrate.add_argument("-c", "--config", type=Path, help="take the DSN from this room file")
    migrate.set_defaults(func=_central_migrate)

    materials = sub.add_parser("materials", help="lesson packages from and to the materials bank")
    materials_sub = materials.add_subparsers(metavar="ACTION")
    sync = materials_sub.add_parser("sync", help="fetch every new published lesson package now")
    sync.add_argument("-c", "--config", required=True, type=Path)
    sync.set_defaults(func=_materials_sync)
    submit = materials_sub.add_parser("submit", help="send a teacher-made lesson (a .zip or a library lesson id)")
    submit.add_argument("lesson", help="a .zip / folder, or the id or hash of a lesson in the hub's library")
    submit.add_argument("-c", "--config", required=True, type=Path)
    submit.add_argument("--title", help="default: the lesson's title")
    submit.add_argument("--by", dest="submitted_by", help="the teacher's sourcedId")
    submit.set_defaults(func=_materials_submit)


@asynccontextmanager
async def _opened(settings: HubSettings) -> AsyncIterator[Pusher]:
    store = TelemetryStore(settings.data_dir / "telemetry.db", synchronous=settings.store.synchronous)
    await store.open()
    pusher = Pusher(settings, store)
    try:
        yield pusher
    finally:
        await pusher.close()
        await store.close()


# --- push -------------------------------------------------------------------------------------


def _push_status(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)

    async def run() -> PushReport:
        async with _opened(settings) as pusher:
            return await pusher.report()

    report = asyncio.run(run())
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        running = lock_holder(settings.data_dir)
        print("\n".join(status_lines(report, running)))
    return 0


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _when(ts: float | None) -> str:
    if ts is None:
        return "never"
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(ts))} ({_age(time.time() - ts)} ago)"


def status_lines(report: PushReport, pushing_pid: int | None = None) -> list[str]:
    hub = f"the hub is pushing (pid {pushing_pid})" if pushing_pid else "nobody is pushing now (hub stopped)"
    lines = [f"hub {report.hub_id}: {hub}"]
    if not report.destinations:
        lines.append("no destinations configured ([[central.destinations]] in the room file)")
    for d in report.destinations:
        lines += _destination_lines(d)
    store = report.store
    lines.append(f"store: {store['used_bytes'] / 1e6:.1f} MB of {store['budget_bytes'] / 1e6:.0f} MB "
                 f"({store['percent']:.0f} %), alarm: {store['alarm']}")  # fmt: skip
    if store["alarm_message"]:
        lines.append(f"  ALARM: {store['alarm_message']}")
    lines.append("  policy:")
    lines += [f"    - {line}" for line in store["policy"]]
    for run in store["housekeeping"][:5]:
        lines.append(f"  {_when(run['ran_at'])}: {run['action']} {run['stream']}: {run['rows_in']} rows -> "
                     f"{run['rows_out']} ({run['detail']})")  # fmt: skip
    return lines


def _destination_lines(d: DestinationReport) -> list[str]:
    flags = " (pseudonymised)" if d.pseudonymise else ""
    queue = ", ".join(f"{stream} {n}" for stream, n in d.queue.items())
    lines = [
        f"{d.name} [{d.kind}]{flags}: {d.state}",
        f"  queue:        {d.depth} ({queue})",
        f"  oldest:       {_age(d.oldest_undelivered_s)} undelivered",
        f"  last success: {_when(d.last_success)}",
        f"  last error:   {d.last_error or '-'}" + (f" at {_when(d.last_error_at)}" if d.last_error else ""),
        f"  quarantined:  {d.quarantined}" + ("  (see: classroom-hub push quarantine)" if d.quarantined else ""),
    ]
    if d.next_attempt_at:
        lines.append(f"  next attempt: in {_age(max(0.0, d.next_attempt_at - time.time()))}")
    return lines


class ProgressBar:
    """One line on stderr, redrawn in place on a terminal, a line per 10 % otherwise."""

    def __init__(self, total: int, label: str = "pushing") -> None:
        self.total = max(total, 1)
        self.label = label
        self.tty = sys.stderr.isatty()
        self._last_tenth = -1

    def show(self, done: int) -> None:
        done = min(done, self.total)
        fraction = done / self.total
        bar = "#" * int(fraction * 30) + "-" * (30 - int(fraction * 30))
        text = f"{self.label} [{bar}] {fraction * 100:5.1f} %  {done:,}/{self.total:,}"
        if self.tty:
            print("\r" + text, end="", file=sys.stderr, flush=True)
        elif int(fraction * 10) != self._last_tenth:
            self._last_tenth = int(fraction * 10)
            print(text, file=sys.stderr, flush=True)

    def end(self) -> None:
        if self.tty:
            print(file=sys.stderr)


def _push_now(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    return asyncio.run(_push_now_async(settings, args.stall_s))


async def _push_now_async(settings: HubSettings, stall_s: float) -> int:
    async with _opened(settings) as pusher:
        depths = await pusher.queue_depths()
        total = sum(sum(d.values()) for d in depths.values())
        bar = ProgressBar(total)
        bar.show(0)
        if pusher.take_lock():
            errors = await _drain_here(pusher, bar, total)
        else:
            errors = await _wake_hub(pusher, settings, bar, total, stall_s)
        bar.end()
        left = await pusher.queue_depths()
        for name, error in errors.items():
            remaining = sum(left.get(name, {}).values())
            print(f"{name}: " + (f"FAILED, {remaining} left: {error}" if error else f"done, {remaining} left"))
        return 1 if any(errors.values()) else 0


async def _drain_here(pusher: Pusher, bar: ProgressBar, total: int) -> dict[str, str | None]:
    moved = 0

    def on_batch() -> None:
        nonlocal moved
        moved = sum(sum(c.delivered.values()) + sum(c.already.values()) for c in pusher.couriers.values())
        bar.show(moved)

    errors = await pusher.drain_now(on_batch)
    bar.show(total if not any(errors.values()) else moved)
    return errors


async def _wake_hub(
    pusher: Pusher, settings: HubSettings, bar: ProgressBar, total: int, stall_s: float
) -> dict[str, str | None]:
    pid = lock_holder(settings.data_dir)
    if pid is not None:
        os.kill(pid, signal.SIGUSR1)  # the running hub's couriers start at once
    best, since = total, time.monotonic()
    while True:
        depths = await pusher.queue_depths()
        left = sum(sum(d.values()) for d in depths.values())
        bar.show(total - left)
        if left < best:
            best, since = left, time.monotonic()
        if left == 0 or time.monotonic() - since > stall_s:
            break
        await asyncio.sleep(0.3)  # a progress display: the store has no "row delivered" event across processes
    report = await pusher.report()
    return {d.name: (d.last_error if d.depth else None) for d in report.destinations}


def _push_quarantine(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)

    async def run() -> list[Any]:
        async with _opened(settings) as pusher:
            return await pusher.ledger.quarantined(args.destination, args.limit)

    items = asyncio.run(run())
    for item in items:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(item.quarantined_at))
        print(f"{when} {item.destination} {item.stream} seq {item.seq} {item.record_id or ''}: {item.reason}")
    print(f"{len(items)} quarantined record(s)" + (" shown" if len(items) == args.limit else ""))
    return 0


# --- roster -----------------------------------------------------------------------------------


def _roster_import(args: argparse.Namespace) -> int:
    from classroom_hub.pusher.roster_pull import roster_cache_path
    from classroom_hub.roster import RosterCache
    from classroom_hub.roster.bundle_import import import_bundle

    settings = load_settings(args.config)
    with RosterCache(roster_cache_path(settings.data_dir)) as cache:
        # A bundle with refused rows only adds and updates: the refused people keep their old record.
        done = import_bundle(cache, args.file)
    for line in done.report.lines():
        print(line)
    print(("replaced the hub's roster: " if done.replaced else "added/updated in the hub's roster: ")
          + ", ".join(f"{k} {v}" for k, v in done.counts.items()))  # fmt: skip
    return 0 if done.report.ok else 3


def _roster_export(args: argparse.Namespace) -> int:
    from classroom_hub.pusher.roster_pull import roster_cache_path
    from classroom_hub.roster import RosterCache, export_oneroster

    settings = load_settings(args.config)
    with RosterCache(roster_cache_path(settings.data_dir)) as cache:
        roster = cache.roster()
    export_oneroster(roster, args.dir, bom=args.bom)
    print(f"wrote {args.dir}: {len(roster.people)} people, {len(roster.classes)} classes")
    return 0


def _roster_pull(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)

    async def run() -> dict[str, int]:
        async with _opened(settings) as pusher:
            if pusher.roster is None:
                raise PushError("no roster source: add a postgres destination or central.roster_dsn to the room file")
            return await pusher.roster.pull_once()

    counts = asyncio.run(run())
    print("pulled: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


# --- central ----------------------------------------------------------------------------------


def _central_migrate(args: argparse.Namespace) -> int:
    from classroom_hub.central import migrate
    from classroom_hub.central.dsn import safe_dsn

    dsn = args.dsn
    if dsn is None and args.config is not None:
        source = central_of(load_settings(args.config)).roster_source()
        dsn = source.get_secret_value() if source is not None else None
    if dsn is None:
        print("error: give --dsn postgresql://... (or -c with a postgres destination)", file=sys.stderr)
        return 2
    report = asyncio.run(migrate(dsn))
    applied = ", ".join(str(v) for v in report.applied) or "none"
    print(f"{safe_dsn(dsn)}: schema version {report.version}; applied now: {applied}; "
          f"partitions created: {report.partitions_created}")  # fmt: skip
    if report.newer:
        print(f"note: the database has newer migrations this hub does not know: {report.newer}")
    return 0


# --- materials --------------------------------------------------------------------------------


def _materials_sync(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)

    async def run() -> Any:
        async with _opened(settings) as pusher:
            return await pusher.sync_materials()

    report = asyncio.run(run())
    print(f"listed {report.listed}, fetched {len(report.fetched)}, already here {report.already}, "
          f"failed {len(report.failed)}")  # fmt: skip
    for lesson_id in report.fetched:
        print(f"  + {lesson_id}")
    for content_hash, reason in report.failed.items():
        print(f"  ! {content_hash[:12]}: {reason}")
    return 0 if not report.failed else 1


def _materials_submit(args: argparse.Namespace) -> int:
    from classroom_hub.lessons import LessonLibrary
    from classroom_hub.pusher.materials import MaterialsBank, lesson_zip

    settings = load_settings(args.config)
    central = central_of(settings)
    if not central.materials_url:
        print("error: no materials bank configured (central.materials_url)", file=sys.stderr)
        return 2
    library = LessonLibrary(settings.data_dir / "lessons")
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(args.lesson)
        title = args.title
        if source.is_dir():
            package = lesson_zip(source, Path(scratch) / "lesson.zip")
        elif source.is_file():
            package = source
        else:
            stored = library.open(args.lesson)
            package = lesson_zip(stored.folder, Path(scratch) / f"{stored.record.id}.zip")
            title = title or stored.record.title
        bank = MaterialsBank(central.materials_url, settings.data_dir / "materials", library,
                             token=central.materials_token.get_secret_value() if central.materials_token else None)

        async def run() -> dict[str, Any]:
            async with bank:
                return await bank.submit(package, title=title or package.stem, submitted_by=args.submitted_by,
                                         school_code=settings.room.school_code)  # fmt: skip

        answer = asyncio.run(run())
    print(f"submitted: {answer.get('content_hash', '?')[:12]}... status {answer.get('status', '?')}")
    return 0

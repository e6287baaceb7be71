"""``classroom-hub studio ...``: the studio from a terminal (today's bookings, the outbox, crash repair).

These commands open the studio's own database directly (SQLite in WAL mode: reading while the hub
runs is safe). ``recover`` finishes recordings a crash left behind; the hub does the same at start,
so run it only while the hub is stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from config.loader import load_settings
from studio.bookings import BookingRules, Bookings
from studio.publishing import MaterialsOutbox
from studio.recordings import Recordings
from studio.recovery import recover
from studio.settings import load_studio_settings, studio_dir
from studio.store import StudioStore

T = TypeVar("T")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    studio = sub.add_parser("studio", help="the lecture studio: bookings, recordings, publishing")
    actions = studio.add_subparsers(metavar="ACTION")
    today = actions.add_parser("today", help="today's bookings")
    today.add_argument("-c", "--config", required=True, type=Path)
    today.add_argument("--days", type=int, default=1, help="how many days from today")
    today.set_defaults(func=_today)
    outbox = actions.add_parser("outbox", help="lectures waiting to reach the materials bank")
    outbox.add_argument("-c", "--config", required=True, type=Path)
    outbox.set_defaults(func=_outbox)
    fix = actions.add_parser("recover", help="finish recordings left by a crash (hub stopped)")
    fix.add_argument("-c", "--config", required=True, type=Path)
    fix.set_defaults(func=_recover)


def _with_store(config: Path, work: Callable[[StudioStore, Path], Awaitable[T]]) -> T:
    settings = load_settings(config)
    folder = studio_dir(settings)

    async def run() -> T:
        store = StudioStore(folder / "studio.db")
        await store.open()
        try:
            return await work(store, folder)
        finally:
            await store.close()

    return asyncio.run(run())


def _today(args: argparse.Namespace) -> int:
    hub = load_settings(args.config)
    studio = load_studio_settings(hub)
    zone = studio.zone

    async def work(store: StudioStore, folder: Path) -> int:
        bookings = Bookings(store, BookingRules())
        start = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        found = await bookings.between(start.timestamp(), (start + timedelta(days=args.days)).timestamp())
        for b in found:
            begin = datetime.fromtimestamp(b.starts_at, zone)
            end = datetime.fromtimestamp(b.ends_at, zone)
            print(f"{begin:%Y-%m-%d %H:%M}-{end:%H:%M}  {b.teacher_name:<24} {b.title}  [{b.id}]")
        if not found:
            print("no bookings")
        return 0

    return _with_store(args.config, work)


def _outbox(args: argparse.Namespace) -> int:
    async def work(store: StudioStore, folder: Path) -> int:
        pending = await MaterialsOutbox(store).pending(limit=1000)
        for m in pending:
            sent = f"{m.sent_bytes * 100 // max(m.size_bytes, 1)}%"
            age = (time.time() - m.queued_at) / 3600
            print(f"#{m.seq} {m.recording_id}  {m.size_bytes / 1e6:.1f} MB  sent {sent}  queued {age:.1f} h ago"
                  f"  attempts {m.attempts}  {m.last_error or ''}")  # fmt: skip
        print(f"{len(pending)} waiting")
        return 0

    return _with_store(args.config, work)


def _recover(args: argparse.Namespace) -> int:
    recordings_dir = load_studio_settings(load_settings(args.config)).recordings_dir

    async def work(store: StudioStore, folder: Path) -> int:
        repaired = await recover(Recordings(store, recordings_dir or folder / "recordings"))
        for recording_id in repaired:
            print(f"recovered {recording_id} (partial)")
        print(f"{len(repaired)} recording(s) recovered")
        return 0

    return _with_store(args.config, work)

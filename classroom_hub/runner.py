"""Run the hub until SIGINT/SIGTERM; stop cleanly, or at once on a second signal."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
from collections.abc import Callable

from aiohttp import web

from classroom_hub.app import build_app
from config.settings import HubSettings

log = logging.getLogger(__name__)

# Something to run beside the hub while it is up (the demo's simulated room).
Attachment = Callable[[web.Application, str], contextlib.AbstractAsyncContextManager[None]]


def base_url(settings: HubSettings, port: int) -> str:
    if settings.http.public_url:
        return settings.http.public_url.rstrip("/")
    host = settings.http.host
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"


async def serve(settings: HubSettings, attach: Attachment | None = None) -> None:
    """Start the hub's parts and web server, wait for a stop signal, stop in reverse."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = 0

    def on_signal(signum: int) -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            log.info("event=stopping signal=%s hint='press Ctrl-C again to force'", signal.Signals(signum).name)
            stop.set()
        else:
            # Forced: everything acknowledged is already committed (WAL), so nothing is lost.
            log.warning("event=forced_exit")
            os._exit(130)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)

    app = build_app(settings)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5)
    await runner.setup()
    _tune_gc()
    try:
        site = web.TCPSite(runner, settings.http.host, settings.http.port)
        await site.start()
        port = _bound_port(runner) or settings.http.port
        url = base_url(settings, port)
        log.info("event=hub_started room=%s url=%s", settings.room.id, url)
        async with attach(app, url) if attach is not None else contextlib.nullcontext():
            await stop.wait()
    finally:
        await runner.cleanup()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        log.info("event=hub_stopped room=%s", settings.room.id)


def _tune_gc() -> None:
    """Move what start-up made (modules, settings, pages, schemas: the hub keeps it for its whole
    life) out of every later garbage collection. Draining a queue of 200,000 readings, the
    collector otherwise walks it again and again: 0.87-0.88 of the bare paho floor without,
    0.93 with (bench/ingest.py, docs/benchmarks.md)."""
    gc.collect()
    gc.freeze()


def _bound_port(runner: web.AppRunner) -> int | None:
    for address in runner.addresses:
        if isinstance(address, tuple):
            port: int = address[1]
            return port
    return None

"""Run the hub until SIGINT/SIGTERM; stop cleanly, or at once on a second signal."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from yarl import URL

from classroom_hub.app import build_app
from classroom_hub.tls import server_context
from classroom_hub.web import connections
from classroom_hub.web.connections import ConnectionPolicy, GuardedSite
from config.settings import HubSettings

log = logging.getLogger(__name__)

# Something to run beside the hub while it is up (the demo's simulated room).
KEEPALIVE_S = 75.0
Attachment = Callable[[web.Application, str], contextlib.AbstractAsyncContextManager[None]]


def base_url(settings: HubSettings, port: int) -> str:
    if settings.http.public_url:
        return settings.http.public_url.rstrip("/")
    host = settings.http.host
    scheme = "https" if settings.http.tls else "http"
    return f"{scheme}://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"


@dataclass
class Sites:
    """What the hub listens on: its pages (HTTPS with TLS on) and, with TLS, a plain-HTTP redirect."""

    main: GuardedSite
    redirect: web.AppRunner | None = None
    redirect_site: GuardedSite | None = None

    @property
    def port(self) -> int:
        return self.main.bound_port

    async def close(self) -> None:
        if self.redirect is not None:
            await self.redirect.cleanup()


async def open_sites(runner: web.AppRunner, settings: HubSettings) -> Sites:
    """Listen for the hub's pages on ``http.host``/``http.port``, each connection guarded
    (header deadline, connections per address); with TLS, also a plain-HTTP port that sends
    every browser to HTTPS and hands out the room CA."""
    http = settings.http
    policy = ConnectionPolicy(header_timeout_s=http.header_timeout_s, per_client=http.max_connections_per_client)
    context = server_context(http.tls_cert, http.tls_key) if http.tls_cert and http.tls_key else None
    sites = Sites(GuardedSite(runner, http.host, http.port, policy, ssl_context=context))
    await sites.main.start()
    if context is not None and http.redirect_port is not None:
        sites.redirect = web.AppRunner(redirect_app(settings, sites.port), access_log=None, handle_signals=False)
        await sites.redirect.setup()
        sites.redirect_site = GuardedSite(sites.redirect, http.host, http.redirect_port, policy)
        await sites.redirect_site.start()
        log.info("event=http_redirect port=%d to=https", sites.redirect_site.bound_port)
    return sites


def redirect_app(settings: HubSettings, https_port: int) -> web.Application:
    """Plain HTTP: ``/room-ca.crt`` (a tablet installs it before it can trust HTTPS), and a
    permanent redirect to the same path over HTTPS for everything else."""
    app = web.Application(client_max_size=1024, middlewares=[connections.tracked])
    public = URL(settings.http.public_url) if settings.http.public_url else None

    async def to_https(request: web.Request) -> web.StreamResponse:
        ca = settings.http.tls_ca
        if request.path == "/room-ca.crt" and ca is not None and ca.is_file():
            return web.FileResponse(ca, headers={"Content-Type": "application/x-x509-ca-cert"})
        if public is not None and public.scheme == "https" and public.host:
            host, port = public.host, public.port
        else:
            host, port = request.url.host or "127.0.0.1", https_port
        target = URL.build(scheme="https", host=host, port=None if port == 443 else port, path=request.path,
                           query_string=request.query_string, encoded=False)  # fmt: skip
        if request.method in ("GET", "HEAD"):
            raise web.HTTPMovedPermanently(target)
        raise web.HTTPPermanentRedirect(target)

    app.router.add_route("*", "/{tail:.*}", to_https)
    return app


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
    # An idle kept-alive connection is closed after KEEPALIVE_S (aiohttp's default is an hour).
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, shutdown_timeout=5, keepalive_timeout=KEEPALIVE_S
    )
    await runner.setup()
    _tune_gc()
    sites: Sites | None = None
    try:
        sites = await open_sites(runner, settings)
        url = base_url(settings, sites.port)
        log.info("event=hub_started room=%s url=%s tls=%s", settings.room.id, url, settings.http.tls)
        async with attach(app, url) if attach is not None else contextlib.nullcontext():
            await stop.wait()
    finally:
        if sites is not None:
            await sites.close()
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

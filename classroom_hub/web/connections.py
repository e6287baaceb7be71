"""Slow and greedy clients: a deadline on every request's headers, a cap on connections per address.

aiohttp's server waits for a request's headers as long as the client likes: 200 connections
trickling a header byte now and then held 200 of the hub's sockets (and their buffers) for a
minute. :class:`GuardedSite` serves the app like ``web.TCPSite``, with each connection's
protocol wrapped in a :class:`GuardedConnection`:

* from the connection's first byte, or from the first byte after a finished request (keep-alive),
  to the moment the app starts handling the request, at most ``header_timeout_s``; past it the
  client gets ``408`` and the connection is closed. A connection that sent nothing yet is
  closed quietly at the same deadline; one idle between requests is left to aiohttp's own
  keep-alive timeout. The web middleware tells the guard when a request is being handled
  (:func:`busy`) and when it is done (:func:`idle`): a WebSocket or a long download is
  never cut;
* one client address holds at most ``per_client`` connections at once; more are closed as
  they open.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from yarl import URL

log = logging.getLogger(__name__)

_GUARDS: dict[asyncio.BaseTransport, GuardedConnection] = {}
_TIMEOUT_REPLY = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


@dataclass
class ConnectionPolicy:
    header_timeout_s: float = 10.0
    per_client: int = 64
    open_by_address: Counter[str] = field(default_factory=Counter)
    timed_out: int = 0
    turned_away: int = 0


class GuardedConnection(asyncio.Protocol):
    """One client connection: aiohttp's protocol inside, a header deadline around it."""

    def __init__(self, inner: asyncio.Protocol, policy: ConnectionPolicy) -> None:
        self._inner = inner
        self._policy = policy
        self._transport: asyncio.Transport | None = None
        self._address = "?"
        self._counted = False
        self._busy = False
        self._received = 0  # bytes of the request being waited for
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self._address = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        policy = self._policy
        if policy.open_by_address[self._address] >= policy.per_client:
            policy.turned_away += 1
            if policy.turned_away <= 5 or policy.turned_away % 1000 == 0:
                log.warning("event=connection_refused peer=%s open=%d count=%d", self._address,
                            policy.open_by_address[self._address], policy.turned_away)  # fmt: skip
            transport.abort()
            return
        policy.open_by_address[self._address] += 1
        self._counted = True
        _GUARDS[transport] = self
        self._arm()
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self._counted:
            return
        if not self._busy:
            if self._deadline is None:
                self._arm()  # the next request on a kept-alive connection begins
            self._received += len(data)
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._counted else None

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if not self._counted:
            return
        self._counted = False
        if self._transport is not None:
            _GUARDS.pop(self._transport, None)
        left = self._policy.open_by_address[self._address] - 1
        if left > 0:
            self._policy.open_by_address[self._address] = left
        else:
            del self._policy.open_by_address[self._address]
        self._inner.connection_lost(exc)

    # --- the deadline --------------------------------------------------------------------

    def request_started(self) -> None:
        self._busy = True
        self._disarm()

    def request_done(self) -> None:
        self._busy = False
        self._received = 0

    def _arm(self) -> None:
        self._disarm()
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self._policy.header_timeout_s, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        transport = self._transport
        if self._busy or transport is None or transport.is_closing():
            return
        if self._received:
            self._policy.timed_out += 1
            count = self._policy.timed_out
            if count <= 5 or count % 1000 == 0:
                log.warning("event=header_timeout peer=%s bytes=%d count=%d", self._address, self._received, count)
            transport.write(_TIMEOUT_REPLY)
        transport.close()


def _guard_of(request: web.Request) -> GuardedConnection | None:
    transport = request.transport
    return _GUARDS.get(transport) if transport is not None else None


def busy(request: web.Request) -> None:
    """The app handles this request now: its headers are in, no deadline runs."""
    guard = _guard_of(request)
    if guard is not None:
        guard.request_started()


def idle(request: web.Request) -> None:
    """The app is done with this request: the next one's headers get a deadline again."""
    guard = _guard_of(request)
    if guard is not None:
        guard.request_done()


@web.middleware
async def tracked(request: web.Request, handler: Any) -> web.StreamResponse:
    """For an app without the hub's security middleware (the HTTP-to-HTTPS redirect)."""
    busy(request)
    try:
        response: web.StreamResponse = await handler(request)
        return response
    finally:
        idle(request)


class GuardedSite(web.BaseSite):
    """``web.TCPSite`` with every connection guarded by :class:`GuardedConnection`."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str | None,
        port: int,
        policy: ConnectionPolicy,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context)
        self._hub_runner = runner
        self._host = host
        self._port = port
        self._tls = ssl_context
        self.policy = policy
        self.bound_port = port

    @property
    def name(self) -> str:
        scheme = "https" if self._tls is not None else "http"
        return str(URL.build(scheme=scheme, host=self._host or "0.0.0.0", port=self.bound_port))

    async def start(self) -> None:
        await super().start()
        server = self._hub_runner.server
        assert server is not None
        policy = self.policy
        factory: Callable[[], asyncio.Protocol] = lambda: GuardedConnection(server(), policy)  # noqa: E731
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            factory, self._host, self._port, ssl=self._tls,
            ssl_handshake_timeout=policy.header_timeout_s if self._tls is not None else None,
        )  # fmt: skip
        if self._server.sockets:
            self.bound_port = self._server.sockets[0].getsockname()[1]

"""One classroom's Wi-Fi access point, as a TCP proxy: a shared link of limited bandwidth plus a round trip.

    async with AccessPoint(("127.0.0.1", hub_port), mbit_s=30, rtt_ms=20) as ap:
        ...  # clients connect to ("127.0.0.1", ap.port) instead of the hub

Every byte in either direction of every connection takes its turn on one token bucket (a Wi-Fi
cell is one shared, half-duplex medium: uploads and downloads of all stations share it), in
the order the chunks arrived, so 40 tablets get the link's rate between them, not each. A chunk
leaves the bucket when the link has had time to send it, and is delivered half a round trip
later, in order; each direction adds ``rtt_ms / 2``. The bucket holds at most ``burst_bytes``
(one chunk by default), so no connection ever goes faster than the link for long.

``link_floor_s(bytes)`` is what moving ``bytes`` over this link takes at best: the bench's floor.
Counts ``bytes_down`` (to the clients) and ``bytes_up`` (to the server). ``mbit_s=None``: no
bandwidth limit. ``cut_after``: the first connection that has carried that many bytes towards its
client is cut, abruptly, once, as a student walking out of range would (resumed downloads).
Used by bench/classroom_load.py, bench/scenes_fetch.py and the scene download tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from types import TracebackType

CHUNK = 16 * 1024


class TokenBucket:
    """``rate`` bytes per second for everyone together, first come first served."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at = time.monotonic()
        self._lock = asyncio.Lock()  # FIFO: waiters are served in arrival order

    async def take(self, amount: int) -> None:
        async with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= amount
            if self._tokens < 0:  # the link is busy until these bytes are sent
                await asyncio.sleep(-self._tokens / self.rate)


class AccessPoint:
    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        mbit_s: float | None = 30.0,
        rtt_ms: float = 20.0,
        burst_bytes: int = CHUNK,
        host: str = "127.0.0.1",
        cut_after: int | None = None,
    ) -> None:
        self.upstream = upstream
        self.mbit_s = mbit_s
        self.rtt_ms = rtt_ms
        self.bucket = TokenBucket(mbit_s * 1e6 / 8, burst_bytes) if mbit_s else None
        self.host = host
        self.cut_after = cut_after
        self.cuts = 0
        self.port = 0
        self.bytes_down = 0
        self.bytes_up = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def link_floor_s(self, total_bytes: int) -> float:
        assert self.bucket is not None, "a link without a bandwidth limit has no floor"
        return total_bytes / self.bucket.rate

    async def __aenter__(self) -> AccessPoint:
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        # Closing cancels the connections: asyncio's server would log a cancelled handler as an error.
        with contextlib.suppress(asyncio.CancelledError):
            await self._client(client_reader, client_writer)

    async def _client(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            # A bridge, as an access point is: the server sees each station's own address
            # (the tablets connect from 127.0.1.<n>), not one address for the whole class.
            peer = client_writer.get_extra_info("peername")[0]
            local = (peer, 0) if peer.startswith("127.") else None
            server_reader, server_writer = await asyncio.open_connection(*self.upstream, local_addr=local)
        except OSError:
            client_writer.close()
            return
        cut = asyncio.Event()
        down = asyncio.create_task(self._pipe(server_reader, client_writer, up=False, cut=cut))
        up = asyncio.create_task(self._pipe(client_reader, server_writer, up=True, cut=cut))
        self._tasks.update((down, up))
        try:
            await asyncio.wait((down, up), return_when=asyncio.FIRST_COMPLETED)
            # One side closed: let the other finish what is in flight, then close both.
            if not cut.is_set():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.gather(down, up, return_exceptions=True), self.rtt_ms / 1000 + 5)
        finally:
            for task in (down, up):
                task.cancel()
                self._tasks.discard(task)
            for writer in (client_writer, server_writer):
                if cut.is_set():
                    writer.transport.abort()
                else:
                    writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, up: bool,
                    cut: asyncio.Event) -> None:  # fmt: skip
        """Bytes of one direction: through the bucket, then half a round trip later to ``writer``."""
        in_flight: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        one_way = self.rtt_ms / 2000
        carried = 0

        async def deliver() -> None:
            while True:
                due, data = await in_flight.get()
                if not data:
                    with contextlib.suppress(OSError):
                        if writer.can_write_eof():
                            writer.write_eof()
                    return
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()

        delivering = asyncio.create_task(deliver())
        try:
            while True:
                data = await reader.read(CHUNK)
                if data:
                    if self.bucket is not None:
                        await self.bucket.take(len(data))
                    if up:
                        self.bytes_up += len(data)
                    else:
                        self.bytes_down += len(data)
                        carried += len(data)
                in_flight.put_nowait((time.monotonic() + one_way, data))
                if not data:
                    break
                if not up and self.cut_after is not None and self.cuts == 0 and carried >= self.cut_after:
                    self.cuts += 1
                    cut.set()
                    return
            await delivering
        except (ConnectionError, OSError):
            pass
        finally:
            delivering.cancel()

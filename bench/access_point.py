"""A classroom's Wi-Fi access point as a TCP proxy: one shared bandwidth, an added round trip.

    async with AccessPoint("127.0.0.1", hub_port, mbit=30, rtt_ms=20) as ap:
        url = f"http://127.0.0.1:{ap.port}/..."   # every client through it shares 30 Mbit/s

Every byte, in either direction and of every connection, takes tokens from one bucket that
fills at ``mbit`` megabits per second (a Wi-Fi cell is one shared medium), in turns (an
asyncio lock is first come, first served, so 40 downloads share it fairly). Each chunk is
delivered ``rtt_ms / 2`` after it was read, in order, without holding the next one back: the
link has latency, not a stop-and-wait. ``cut_after`` closes the first connection that has
carried that many bytes towards the client, abruptly, once, as a student walking out of
range would (tests of resumed downloads). ``mbit=None``: no bandwidth limit.

Another engineer's bench (bench/classroom_load.py) may bring a proxy of its own; the lead
merges the two.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from types import TracebackType
from typing import Self

CHUNK = 16 * 1024


class TokenBucket:
    def __init__(self, bytes_per_s: float, burst: int = 4 * CHUNK) -> None:
        self.rate = bytes_per_s
        self.burst = burst
        self._tokens = float(burst)
        self._at = time.monotonic()
        self._turn = asyncio.Lock()

    async def take(self, n: int) -> None:
        async with self._turn:
            while True:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
                self._at = now
                if self._tokens >= min(n, self.burst):
                    self._tokens -= n  # may go below zero for a chunk larger than the burst
                    return
                await asyncio.sleep((min(n, self.burst) - self._tokens) / self.rate)


class AccessPoint:
    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        mbit: float | None = 30.0,
        rtt_ms: float = 20.0,
        host: str = "127.0.0.1",
        cut_after: int | None = None,
    ) -> None:
        self.target = (target_host, target_port)
        self.host = host
        self.port = 0
        self.delay_s = rtt_ms / 2000
        self.bucket = TokenBucket(mbit * 1e6 / 8) if mbit else None
        self.cut_after = cut_after
        self.cuts = 0
        self.connections = 0
        self.bytes_down = 0
        self.bytes_up = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        # close() cancels the connections: asyncio's server would log a cancelled handler as an error.
        with contextlib.suppress(asyncio.CancelledError):
            await self._carry(client_r, client_w, task)

    async def _carry(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter,
                     task: asyncio.Task[None]) -> None:  # fmt: skip
        try:
            try:
                hub_r, hub_w = await asyncio.open_connection(*self.target)
            except OSError:
                client_w.close()
                return
            cut = asyncio.Event()
            up = asyncio.create_task(self._pump(client_r, hub_w, down=False, cut=cut))
            down = asyncio.create_task(self._pump(hub_r, client_w, down=True, cut=cut))
            cut_wait = asyncio.create_task(cut.wait())
            try:
                # Until the hub's side ends (the client's end reaches the hub as EOF) or the cut.
                await asyncio.wait({down, cut_wait}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for t in (up, down, cut_wait):
                    t.cancel()
                await asyncio.gather(up, down, cut_wait, return_exceptions=True)
                for w in (client_w, hub_w):
                    if cut.is_set():
                        w.transport.abort()
                    else:
                        w.close()
        finally:
            self._tasks.discard(task)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, down: bool,
                    cut: asyncio.Event) -> None:  # fmt: skip
        """Copy one direction: through the bucket, each chunk delivered half a round trip later."""
        due: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        carried = 0

        async def deliver() -> None:
            while True:
                at, chunk = await due.get()
                if not chunk:
                    with contextlib.suppress(OSError, RuntimeError):
                        writer.write_eof()
                    return
                wait = at - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(chunk)
                await writer.drain()

        sender = asyncio.create_task(deliver())
        try:
            while True:
                chunk = await reader.read(CHUNK)
                if self.bucket is not None and chunk:
                    await self.bucket.take(len(chunk))
                due.put_nowait((time.monotonic() + self.delay_s, chunk))
                if not chunk:
                    break
                carried += len(chunk)
                if down:
                    self.bytes_down += len(chunk)
                    if self.cut_after is not None and self.cuts == 0 and carried >= self.cut_after:
                        self.cuts += 1
                        cut.set()
                        return
                else:
                    self.bytes_up += len(chunk)
            await sender
        except (ConnectionError, OSError):
            pass
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

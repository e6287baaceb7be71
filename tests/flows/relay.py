"""A TCP relay between a browser and the hub that can go silent, for the flows and common.js tests."""

from __future__ import annotations

import asyncio
import contextlib


class SilentRelay:
    """A TCP proxy between a browser and the hub that can go silent: it stops forwarding in both
    directions without closing anything, as a Wi-Fi link that fades does (the sockets on both sides
    stay open, nothing arrives). Connections made meanwhile are accepted and wait too. Once resumed
    it forwards what waited, closes included. Playwright's offline mode cannot do this: it leaves
    open WebSockets working."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.connections = 0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def go_silent(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self.resume()
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                await self._flowing.wait()
                sink.write(data)
                await sink.drain()
            await self._flowing.wait()  # an end of stream waits for the link like any data
        except OSError:
            await self._flowing.wait()
        finally:
            with contextlib.suppress(OSError):
                sink.close()

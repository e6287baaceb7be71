"""The serial transport after a write backlog: the burst arrives whole and the event loop goes
quiet again (pyserial-asyncio-fast 0.16 alone kept failing an assertion on every turn)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from typing import Any

from firmware_bridge.serial_port import open_serial


async def test_a_burst_larger_than_the_tty_buffer_drains_and_the_loop_goes_quiet() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    transport = await open_serial(loop, asyncio.Protocol, os.ttyname(slave), baudrate=115_200)
    try:
        burst = bytes(range(256)) * 80  # 20 KB: several times what a tty buffers
        transport.write(burst)
        assert transport.get_write_buffer_size() > 0  # the tty took part of it; the rest waits
        received = bytearray()
        async with asyncio.timeout(10):
            while len(received) < len(burst):
                await asyncio.sleep(0.005)  # a slow line, read a piece at a time
                with contextlib.suppress(BlockingIOError):
                    received += os.read(master, 4096)
        assert received == burst
        assert transport.get_write_buffer_size() == 0
        for _ in range(20):  # many turns of the loop with nothing to write
            await asyncio.sleep(0)
        assert errors == []
    finally:
        transport.abort()
        await asyncio.sleep(0)
        os.close(master)
        os.close(slave)

"""Opening a serial port on the event loop: pyserial-asyncio-fast, with one fix of ours.

pyserial-asyncio-fast 0.16 leaves its writer registered on the event loop once a write backlog
has drained (a write that did not fit the tty's buffer at once): from then on every turn of the
loop calls ``_write_ready`` with nothing to write, which fails an assertion, so the loop spins
and logs without end (upstream: home-assistant-libs/pyserial-asyncio-fast pull request 36). A
hub that sends a burst to a board at 115200 baud fills the tty's buffer; so did the emulated
Uno's tests, which found it. This module is the only place that knows the transport's insides.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

import serial
import serial_asyncio_fast


class SerialTransport(serial_asyncio_fast.SerialTransport):
    """The library's transport, taking its writer off the loop when there is nothing to write."""

    def _write_ready(self) -> None:
        if not self._write_buffer:
            self._remove_writer()
            return
        super()._write_ready()


async def open_serial(
    loop: asyncio.AbstractEventLoop, protocol_factory: Callable[[], asyncio.Protocol], port: str, **options: Any
) -> SerialTransport:
    """Open ``port`` (pyserial's options: ``baudrate``, ``exclusive``...) in an executor and
    connect it to a new protocol; raises what ``serial.serial_for_url`` raises."""
    opened = await loop.run_in_executor(None, functools.partial(serial.serial_for_url, port, **options))
    return SerialTransport(loop, protocol_factory(), opened)

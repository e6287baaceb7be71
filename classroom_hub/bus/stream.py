"""The MQTT connection's bytes, read and written in bulk under paho.

paho decodes and encodes the packets; this wrapper, put in place of paho's socket once the
TCP (or TLS) connection is up, owns the byte streams:

- Reading: paho asks for one packet in three or more ``recv`` calls (the type byte, each
  length byte, the body). At 20,000 messages/s that is 60,000 system calls a second, a
  fifth of the hub's time. Here one ``recv`` takes up to 256 KiB and paho is served from
  what is kept.
- Writing: paho sends every packet in its own ``send``. What the kernel does not take now
  waits here, in order, and goes out when the socket is writable; paho is told everything
  was sent, so it never holds half a packet that other bytes could overtake. The hub's
  acknowledgements go through ``write`` too: a thousand PUBACKs are one ``send``.

The link drives it: it reads until ``drained`` and flushes when ``pending_output``.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
from collections.abc import Callable, Iterable
from typing import Any

READ_SIZE = 256 * 1024
_PUBACK = struct.Struct("!BBH")  # MQTT 3.1.1 §3.4: type 4 << 4, remaining length 2, packet id
_WOULD_BLOCK = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class BufferedStream:
    """A socket-like object for paho (``recv``, ``send``, ``fileno``, ``close``...)."""

    def __init__(self, sock: socket.socket, on_pending_output: Callable[[], None]) -> None:
        self.sock = sock
        self._on_pending_output = on_pending_output
        self._in = b""
        self._pos = 0
        self._out = bytearray()
        self.drained = False  # the last read from the socket found nothing more
        self.reads = 0  # system calls, for the tests and the curious
        self.writes = 0

    # --- what paho calls ---------------------------------------------------------------

    def recv(self, size: int) -> bytes:
        if self._pos < len(self._in):
            chunk = self._in[self._pos : self._pos + size]
            self._pos += len(chunk)
            return chunk
        try:
            data = self.sock.recv(READ_SIZE)
        except _WOULD_BLOCK:
            self.drained = True
            raise
        self.reads += 1
        self.drained = False
        if len(data) <= size:
            self._in, self._pos = b"", 0
            return data  # b"" is the end of the stream: paho sees the connection closed
        self._in, self._pos = data, size
        return data[:size]

    def send(self, data: bytes | bytearray | memoryview) -> int:
        self.write(data)
        return len(data)

    def fileno(self) -> int:
        return self.sock.fileno()

    def setblocking(self, flag: bool) -> None:
        self.sock.setblocking(flag)

    def close(self) -> None:
        # paho closes right after queueing DISCONNECT: give what waits one last chance.
        with contextlib.suppress(OSError, *_WOULD_BLOCK):
            self.flush()
        self.sock.close()

    def __getattr__(self, name: str) -> Any:  # getpeername, pending (TLS), ...
        return getattr(self.sock, name)

    # --- what the link calls -----------------------------------------------------------

    @property
    def pending_input(self) -> bool:
        """Bytes read from the socket that paho has not taken yet (the kernel does not know)."""
        return self._pos < len(self._in)

    @property
    def pending_output(self) -> bool:
        return bool(self._out)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send now what the kernel takes; keep the rest, in order, for ``flush``."""
        if self._out:
            self._out += data
            return
        try:
            sent = self.sock.send(data)
            self.writes += 1
        except _WOULD_BLOCK:
            sent = 0
        if sent < len(data):
            self._out += memoryview(data)[sent:]
            self._on_pending_output()

    def flush(self) -> bool:
        """Write what waits; True once nothing does. Connection errors propagate."""
        while self._out:
            try:
                sent = self.sock.send(self._out)
                self.writes += 1
            except _WOULD_BLOCK:
                return False
            del self._out[:sent]
        return True

    def puback(self, mids: Iterable[int]) -> None:
        """Acknowledge QoS-1 messages in one write (what paho's ``ack`` sends, one by one)."""
        self.write(b"".join([_PUBACK.pack(0x40, 2, mid) for mid in mids]))

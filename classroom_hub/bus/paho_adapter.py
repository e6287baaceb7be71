"""paho-mqtt under the hub's MQTT link: how a client is made, and the one module that reaches
past paho's public API.

The link (classroom_hub/bus/link.py) drives paho from the asyncio loop through its public
API (``loop_read``, ``loop_write``, ``loop_misc``, ``want_write``, the socket callbacks) on a
client made by :func:`new_client`. For speed it needs two things paho does not offer, and
only this module does them:

1. **paho's socket** is the private attribute ``Client._sock``: every read, write and close
   of the connection goes through it (``Client._sock_recv(bufsize)``, ``_sock_send(buf)``,
   ``_sock_close()``). :func:`install_stream` puts a :class:`BufferedStream` there once the
   TCP (or TLS) connection is up, and checks that paho's ``socket()`` then returns it.
2. **Acknowledgements in bulk**: :func:`puback_packets` encodes the PUBACKs that
   ``Client.ack(mid, 1)`` would queue one packet at a time, so the acknowledgements of one
   store commit go out in one write. The bytes are the same in MQTT 3.1.1 and 5 (paho leaves
   out the v5 reason code "success").

paho-mqtt is pinned to the minor version this was checked against (:data:`PAHO_SERIES`, the
pin in pyproject.toml); tests/classroom_hub/test_paho_adapter.py fails, naming what moved,
when a paho release changes any of it.

Why a buffered stream at all:

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
import logging
import socket
import ssl
import struct
from collections.abc import Callable, Iterable
from typing import Any, cast

import paho.mqtt.client as paho
from paho.mqtt import __version__ as PAHO_VERSION
from paho.mqtt.enums import CallbackAPIVersion

from classroom_hub.bus.message import Will
from classroom_hub.errors import BusError

# The paho-mqtt minor version the private parts below were checked against (pyproject.toml pins it).
PAHO_SERIES = "2.2"
READ_SIZE = 256 * 1024
_PUBACK = struct.Struct("!BBH")  # MQTT 3.1.1 §3.4 / 5 §3.4: type 4 << 4, remaining length 2, packet id
_WOULD_BLOCK = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class _PahoLog(logging.LoggerAdapter[logging.Logger]):
    """paho logs two DEBUG lines for every message; below DEBUG level that costs a tenth
    of the read path. Drop them before the logging machinery unless DEBUG is on."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if level > logging.DEBUG or self.logger.isEnabledFor(logging.DEBUG):
            self.logger.log(level, msg, *args, **kwargs)


def new_client(
    client_id: str,
    *,
    clean_session: bool,
    manual_ack: bool,
    username: str | None,
    password: str | None,
    tls: tuple[str | None, str | None, str | None] | None,  # CA, certificate, key files
    will: Will | None,
    log_name: str,
) -> paho.Client:
    """A paho client speaking MQTT 3.1.1 (the callbacks are the link's to set)."""
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean_session,
        protocol=paho.MQTTv311,
        manual_ack=manual_ack,
    )
    client.enable_logger(cast(logging.Logger, _PahoLog(logging.getLogger(log_name))))
    if username is not None:
        client.username_pw_set(username, password)
    if tls is not None:
        ca_file, cert_file, key_file = tls
        client.tls_set(ca_certs=ca_file, certfile=cert_file, keyfile=key_file, cert_reqs=ssl.CERT_REQUIRED)
    if will is not None:
        client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
    client.max_inflight_messages_set(1000)
    return client


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
        self.write(puback_packets(mids))


def puback_packets(mids: Iterable[int]) -> bytes:
    """The PUBACK packets paho's ``Client.ack(mid, 1)`` sends for each of ``mids``, back to back."""
    return b"".join([_PUBACK.pack(0x40, 2, mid) for mid in mids])


def install_stream(client: paho.Client, stream: BufferedStream) -> None:
    """Make paho read and write the connection through ``stream`` (in place of its socket)."""
    client._sock = stream
    if client.socket() is not stream:
        raise BusError(
            f"paho-mqtt {PAHO_VERSION} does not keep its socket in Client._sock any more "
            f"(checked against {PAHO_SERIES}.x): classroom_hub/bus/paho_adapter.py needs updating"
        )

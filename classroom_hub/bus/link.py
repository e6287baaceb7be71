"""The hub's MQTT connection: paho-mqtt driven by the asyncio event loop.

Why not a thread: paho's callbacks then run on the loop, so handlers touch hub state
without locks. Why not aiomqtt: QoS-1 messages are acknowledged only after the store has
committed them (manual acks), which aiomqtt does not expose; a crash before the commit
makes the broker redeliver instead of losing the reading.

Reconnecting is a separate supervisor loop (``run``), as in aiomqtt: connect, wait until
the link drops, back off with jitter, connect again with the same client object, so
QoS-1 messages published while away are resent and the persistent session keeps
subscriptions and queued messages on the broker side.

Only public paho API here; what reaches past it (paho's socket, PUBACKs in bulk) is in
classroom_hub/bus/paho_adapter.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from classroom_hub.backoff import Backoff
from classroom_hub.bus.message import Handler, LinkStats, Message, Will
from classroom_hub.bus.paho_adapter import BufferedStream, install_stream, new_client
from classroom_hub.errors import BusError, contained

__all__ = ["Handler", "LinkState", "LinkStats", "Message", "MqttLink", "Will"]

log = logging.getLogger(__name__)

LinkState = Literal["starting", "connecting", "up", "down", "stopped"]

# Messages handled in one pass before other tasks get their turn (a pass is also one store
# commit and one write of acknowledgements when the hub drains a queue after being away).
READ_BUDGET = 2000


class MqttLink:
    """A reconnecting MQTT client. Use ``run()`` as a task; ``publish``/``subscribe`` any time."""

    def __init__(
        self,
        url: str,
        *,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        keepalive_s: int = 30,
        will: Will | None = None,
        on_connect: Callable[[], None] | None = None,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
        clean_session: bool = False,
        manual_ack: bool = True,
    ) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("mqtt", "mqtts") or not parsed.hostname:
            raise BusError(f"broker URL {url!r} must look like mqtt://host:1883")
        self.url = url
        self.host = parsed.hostname
        self.port = parsed.port or (8883 if parsed.scheme == "mqtts" else 1883)
        self.client_id = client_id
        self.keepalive_s = keepalive_s
        self._on_connect_hook = on_connect
        self._backoff = Backoff(reconnect_min_s, reconnect_max_s)  # equal jitter: 40 agents must not retry in step
        self.state: LinkState = "starting"
        self.stats = LinkStats()
        self._handlers: dict[str, tuple[int, list[Handler]]] = {}
        self._dispatch_cache: dict[str, list[Handler]] = {}
        self._generation = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected: asyncio.Future[None] | None = None
        self._lost: asyncio.Event | None = None
        self._up: asyncio.Event | None = None
        self._fd: int | None = None  # the socket's file descriptor, registered with the loop
        self._stream: BufferedStream | None = None
        self._paho_writes = False  # paho has packets queued (its register/unregister-write callbacks)
        self._acks: list[int] = []
        self._loop_thread: int | None = None
        self._misc_task: asyncio.Task[None] | None = None
        self._unacked: set[int] = set()  # our QoS-1 messages the broker has not confirmed yet
        # While paho connects (in an executor thread) its socket exists before its CONNECT is
        # queued: a message handed to paho in between would go out first, and the broker drops
        # a connection whose first packet is not CONNECT. Messages published then wait here.
        self._held: list[tuple[str, bytes | str, int, bool]] | None = None
        self._held_lock = threading.Lock()
        self._resuming = False  # a reconnect asked for by resume_delivery, not a lost link

        # clean_session=False + a stable client id: the broker keeps our subscriptions and
        # queues QoS-1 messages while the hub restarts.
        client = new_client(
            client_id,
            clean_session=clean_session,
            manual_ack=manual_ack,
            username=username,
            password=password,
            tls=(ca_file, cert_file, key_file) if parsed.scheme == "mqtts" else None,
            will=will,
            log_name=__name__ + ".paho",
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        self._client = client

    # --- public API ------------------------------------------------------------------

    @property
    def is_up(self) -> bool:
        return self.state == "up"

    async def wait_up(self, timeout: float | None = None) -> None:
        if self._up is None:
            self._up = asyncio.Event()
        try:
            await asyncio.wait_for(self._up.wait(), timeout)
        except TimeoutError as err:
            raise BusError(f"broker {self.url} not reachable within {timeout} s") from err

    def subscribe(self, topic_filter: str, handler: Handler, qos: int = 1) -> Callable[[], None]:
        """Call ``handler`` for every message matching ``topic_filter``; returns an unsubscribe."""
        entry = self._handlers.setdefault(topic_filter, (qos, []))
        entry[1].append(handler)
        self._dispatch_cache.clear()
        if self.is_up:
            self._client.subscribe(topic_filter, qos)

        def unsubscribe() -> None:
            handlers = self._handlers.get(topic_filter)
            if handlers and handler in handlers[1]:
                handlers[1].remove(handler)
                self._dispatch_cache.clear()
                if not handlers[1]:
                    del self._handlers[topic_filter]
                    if self.is_up:
                        self._client.unsubscribe(topic_filter)

        return unsubscribe

    def publish(self, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False) -> None:
        """Queue a message. While the link is down, QoS-1 messages wait in the client and go
        out after the reconnect; QoS-0 messages are dropped (that is what QoS 0 means)."""
        if self._held is not None:
            with self._held_lock:
                if self._held is not None:  # paho is connecting: handed over once its CONNECT is queued
                    self._held.append((topic, payload, qos, retain))
                    return
        self._hand_to_paho(topic, payload, qos, retain)

    def _hand_to_paho(self, topic: str, payload: bytes | str, qos: int, retain: bool) -> None:
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise BusError(f"publish to {topic} failed: {paho.error_string(info.rc)}")
        if qos > 0:
            self._unacked.add(info.mid)
        self.stats.published += 1

    @property
    def unconfirmed(self) -> int:
        """QoS-1 messages published but not yet confirmed by the broker."""
        return len(self._unacked)

    async def run(self) -> None:
        """Connect and stay connected until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        if self._up is None:
            self._up = asyncio.Event()
        first = True
        try:
            while True:
                error: str | None = None
                try:
                    await self._connect_once(first)
                    first = False
                    self._backoff.reset()
                    assert self._lost is not None
                    await self._lost.wait()
                except (OSError, BusError, ssl.SSLError) as err:
                    self.stats.last_error = error = str(err)
                finally:
                    self._detach_socket()
                self.state = "down"
                self._up.clear()
                delay = 0.0 if self._resuming else self._backoff.next()
                self._resuming = False
                if error is not None:
                    log.warning("event=mqtt_connect_failed broker=%s error=%r retry_in_s=%.1f", self.url, error, delay)
                await asyncio.sleep(delay)
        finally:
            self.state = "stopped"

    async def close(self, *, timeout: float = 2.0) -> None:
        """Disconnect cleanly (no last will) after flushing what is queued."""
        if self.is_up:
            self.state = "stopped"
            deadline = asyncio.get_running_loop().time() + timeout
            # Wait for the broker to confirm what we published (it is then the broker's to keep).
            # paho has no "all confirmed" event; this runs once, at shutdown.
            while (self._unacked or self._client.want_write()) and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            self._client.disconnect()
            self._flush_socket()
        self._detach_socket()
        self.state = "stopped"

    def resume_delivery(self) -> bool:
        """Reconnect the session now, so the broker sends again what this connection did not
        acknowledge (a store that failed to commit). A broker redelivers unacknowledged QoS-1
        messages only on a new connection, and until then they fill its in-flight window:
        nothing new arrives either. A clean DISCONNECT (no last will: the hub is not gone);
        the persistent session keeps subscriptions and queued messages. False if not up."""
        if not self.is_up:
            return False
        log.info("event=mqtt_resume_delivery broker=%s", self.url)
        self._resuming = True
        self._client.disconnect()
        self._flush_socket()
        return True

    def abort(self) -> None:
        """Drop the TCP connection without saying goodbye, as a device whose battery died
        or that walked out of Wi-Fi range: the broker then publishes our last will."""
        stream = self._client.socket()
        sock = stream.sock if isinstance(stream, BufferedStream) else stream
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    # --- connection ------------------------------------------------------------------

    async def _connect_once(self, first: bool) -> None:
        loop = asyncio.get_running_loop()
        self.state = "connecting"
        self._lost = asyncio.Event()
        self._connected = loop.create_future()
        # paho's connect is a blocking socket connect (and TLS handshake): keep it off the loop.
        with self._held_lock:
            self._held = []
        try:
            if first:
                await loop.run_in_executor(None, self._client.connect, self.host, self.port, self.keepalive_s)
            else:
                await loop.run_in_executor(None, self._client.reconnect)
        finally:
            # CONNECT is queued now (or the connect failed: paho keeps QoS-1 messages for the next one).
            with self._held_lock:
                held, self._held = self._held or [], None
            for topic, payload, qos, retain in held:
                with contained("mqtt_publish_failed", topic=topic):  # its publisher has returned already
                    self._hand_to_paho(topic, payload, qos, retain)
        sock = self._client.socket()
        if sock is None:
            raise BusError("connection closed during connect")
        if not isinstance(sock, socket.socket):
            raise BusError(f"unexpected socket type {type(sock).__name__} from paho")
        # Acks and commands are small packets: without this, Nagle's algorithm holds them
        # back for up to 40 ms behind the peer's delayed acknowledgement.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # From here paho reads and writes through the stream (see classroom_hub/bus/paho_adapter.py).
        self._stream = BufferedStream(sock, self._add_writer)
        install_stream(self._client, self._stream)
        self._acks.clear()
        # Register the fd number: paho closes the socket object itself, after which it has no fd.
        self._fd = sock.fileno()
        loop.add_reader(self._fd, self._read)
        self._paho_writes = self._client.want_write()
        if self._paho_writes:
            loop.add_writer(self._fd, self._write)
        misc = asyncio.create_task(self._misc_loop(), name="mqtt-keepalive")
        try:
            await asyncio.wait_for(asyncio.shield(self._connected), timeout=10)
        except TimeoutError as err:
            misc.cancel()
            raise BusError(f"no CONNACK from {self.url} within 10 s") from err
        except BaseException:
            misc.cancel()
            raise
        self._misc_task = misc
        self.state = "up"
        self.stats.connects += 1
        assert self._up is not None
        self._up.set()
        log.info("event=mqtt_connected broker=%s client_id=%s", self.url, self.client_id)

    async def _misc_loop(self) -> None:
        # Keep-alive pings and the keep-alive timeout are timers, not socket events.
        while True:
            await asyncio.sleep(1.0)
            self._client.loop_misc()

    def _read(self) -> None:
        # paho reads one packet per loop_read; keep reading while the stream has bytes, so a
        # burst costs one wake-up, not one per message, up to READ_BUDGET messages a pass.
        stream = self._stream
        if stream is None:
            return
        start = self.stats.received
        while True:
            rc = self._client.loop_read()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or stream is not self._stream:
                return
            if stream.drained and not stream.pending_input:
                return
            if self.stats.received - start >= READ_BUDGET:
                # The kernel's bytes wake the loop again; the ones the stream holds would not.
                if self._loop is not None:
                    self._loop.call_soon(self._read)
                return

    def _write(self) -> None:
        stream = self._stream
        if self._paho_writes:
            self._client.loop_write()  # into the stream, which takes everything
        if stream is not None and stream is self._stream:
            try:
                done = stream.flush()
            except OSError as err:
                log.warning("event=mqtt_write_failed broker=%s error=%r", self.url, str(err))
                self.abort()
                return
            if done and not self._paho_writes and self._fd is not None and self._loop is not None:
                self._loop.remove_writer(self._fd)

    def _flush_socket(self) -> None:
        for _ in range(100):
            if not self._client.want_write() or self._client.loop_write() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break
        if self._stream is not None:
            with contextlib.suppress(OSError):
                self._stream.flush()

    def _detach_socket(self) -> None:
        if self._misc_task is not None:
            self._misc_task.cancel()
            self._misc_task = None
        if self._fd is not None and self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._loop.remove_writer(self._fd)
        self._fd = None
        self._stream = None
        self._acks.clear()  # the broker redelivers what this connection did not acknowledge

    # --- paho callbacks (run on the loop thread, except during connect) --------------------

    def _on_loop_thread(self) -> bool:
        return self._loop_thread == threading.get_ident()

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any) -> None:
        fut = self._connected
        if rc.is_failure:
            if fut is not None and not fut.done():
                fut.set_exception(BusError(f"broker refused the connection: {rc}"))
            return
        self._generation += 1
        for topic_filter, (qos, _handlers) in self._handlers.items():
            client.subscribe(topic_filter, qos)
        if self._on_connect_hook is not None:
            self._on_connect_hook()
        if fut is not None and not fut.done():
            fut.set_result(None)

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any) -> None:
        if self.state == "up" and not self._resuming:
            log.warning("event=mqtt_lost broker=%s reason=%s", self.url, rc)
        if self.state != "stopped":
            self.state = "down"
        if self._up is not None:
            self._up.clear()
        if self._lost is not None:
            self._lost.set()
        fut = self._connected
        if fut is not None and not fut.done():
            fut.set_exception(BusError(f"connection closed by broker: {rc}"))

    def _on_publish(self, client: paho.Client, userdata: Any, mid: int, rc: Any, props: Any) -> None:
        self._unacked.discard(mid)

    def _on_socket_close(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        if self._loop is None:
            return
        if self._on_loop_thread():
            self._detach_socket()
            if self._lost is not None:
                self._lost.set()
        else:
            self._loop.call_soon_threadsafe(self._detach_socket)

    def _on_register_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._paho_writes = True
        if self._loop is None:
            return
        if self._on_loop_thread():
            self._add_writer()
        else:
            self._loop.call_soon_threadsafe(self._add_writer)

    def _add_writer(self) -> None:
        # Before the connect returns there is no fd yet; _connect_once checks want_write then.
        if self._loop is not None and self._fd is not None:
            self._loop.add_writer(self._fd, self._write)

    def _on_unregister_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._paho_writes = False
        stream = self._stream
        if stream is not None and stream.pending_output:
            return  # the writer stays until the stream has flushed too
        if self._loop is not None and self._fd is not None and self._on_loop_thread():
            self._loop.remove_writer(self._fd)

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        self.stats.received += 1
        topic = msg.topic
        handlers = self._dispatch_cache.get(topic)
        if handlers is None:
            handlers = [h for f, (_q, hs) in self._handlers.items() if paho.topic_matches_sub(f, topic) for h in hs]
            self._dispatch_cache[topic] = handlers
        message = Message(topic, bytes(msg.payload), msg.qos, msg.retain, self, msg.mid)
        for handler in handlers:
            try:
                handler(message)
            except Exception:  # a bad handler must not take the link down
                self.stats.handler_errors += 1
                log.exception("event=mqtt_handler_failed topic=%s", topic)
        if not message._deferred:
            message.ack()

    def _ack(self, mid: int, qos: int, generation: int) -> None:
        # A mid is only meaningful on the connection that delivered it; after a
        # reconnect the broker redelivers the message itself.
        # Not "is the link up": the broker sends queued messages right after its CONNACK, and
        # their commit can come before this side has marked the link up.
        if generation != self._generation or self._stream is None:
            return
        if qos == 1:
            self._queue_acks([mid])
        else:
            self._client.ack(mid, qos)

    def ack_all(self, messages: list[Message]) -> None:
        """Acknowledge messages whose ``defer_ack()`` was called (the ingest's commit: a list of
        messages holds less for the garbage collector than a list of callbacks)."""
        generation = self._generation
        mids = [m._mid for m in messages if m.qos == 1 and m._generation == generation]
        if len(mids) < len(messages):  # QoS 2, or from an earlier connection
            for m in messages:
                if m.qos != 1:
                    m.ack()
        if mids and self._stream is not None:
            self._queue_acks(mids)

    def _queue_acks(self, mids: list[int]) -> None:
        # Acks of a commit come in a run: one write for all of them, after the run.
        if not self._acks and self._loop is not None:
            self._loop.call_soon(self._send_acks)
        self._acks.extend(mids)

    def _send_acks(self) -> None:
        mids, self._acks = self._acks, []
        if mids and self._stream is not None:
            try:
                self._stream.puback(mids)
            except OSError as err:  # the read side sees the connection drop and reconnects
                log.warning("event=mqtt_ack_failed broker=%s error=%r", self.url, str(err))

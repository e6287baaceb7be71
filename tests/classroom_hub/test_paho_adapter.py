"""What classroom_hub/bus/paho_adapter.py relies on in paho-mqtt beyond its public API.

These tests fail, saying what moved, when a paho release changes one of those private parts:
then update the adapter (and its pin in pyproject.toml), never the test's expectations alone.
They drive a real paho client over a real socket pair, no broker needed.
"""

from __future__ import annotations

import inspect
import re
import socket
import struct
import tomllib
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt import __version__ as PAHO_VERSION
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from classroom_hub.bus.paho_adapter import PAHO_SERIES, BufferedStream, install_stream, puback_packets
from classroom_hub.errors import BusError

ROOT = Path(__file__).resolve().parents[2]
PROTOCOLS = {"MQTT 3.1.1": paho.MQTTv311, "MQTT 5": paho.MQTTv5}
MIDS = [1, 2, 127, 128, 255, 256, 4660, 65535]


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    peer.settimeout(5)
    yield ours, peer
    ours.close()
    peer.close()


def client_on(sock: socket.socket, protocol: int, *, manual_ack: bool) -> tuple[paho.Client, BufferedStream]:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="adapter-test", protocol=protocol,
                         manual_ack=manual_ack)  # fmt: skip
    stream = BufferedStream(sock, lambda: None)
    install_stream(client, stream)
    return client, stream


def publish_packet(protocol: int, topic: str, payload: bytes, mid: int) -> bytes:
    """A QoS-1 PUBLISH from the broker, encoded by hand (MQTT 3.1.1 §3.3, MQTT 5 §3.3)."""
    body = struct.pack("!H", len(topic)) + topic.encode() + struct.pack("!H", mid)
    if protocol == paho.MQTTv5:
        body += b"\x00"  # no properties
    body += payload
    assert len(body) < 128  # one remaining-length byte
    return bytes([0x32, len(body)]) + body


def received(peer: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = peer.recv(size - len(data))
        assert chunk, "the connection closed early"
        data += chunk
    return data


def test_paho_is_the_minor_version_the_adapter_was_checked_against() -> None:
    installed = ".".join(PAHO_VERSION.split(".")[:2])
    assert installed == PAHO_SERIES, (
        f"paho-mqtt {PAHO_VERSION} is installed but classroom_hub/bus/paho_adapter.py was checked "
        f"against {PAHO_SERIES}.x: check the private parts it uses, then update PAHO_SERIES and the pin"
    )
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pin = next(d for d in dependencies if d.startswith("paho-mqtt"))
    major, minor = PAHO_SERIES.split(".")
    assert re.fullmatch(rf"paho-mqtt>={major}\.{minor}(\.\d+)?,<{major}\.{int(minor) + 1}", pin), (
        f"pyproject.toml pins {pin!r}: it must allow only paho-mqtt {PAHO_SERIES}.x, the series the adapter "
        "was checked against"
    )


def test_the_private_socket_methods_keep_their_names_and_signatures() -> None:
    # paho reads, writes and closes the connection only through these, each on self._sock.
    expected = {"_sock_recv": ["self", "bufsize"], "_sock_send": ["self", "buf"], "_sock_close": ["self"]}
    for name, parameters in expected.items():
        method = getattr(paho.Client, name, None)
        assert method is not None, f"paho.Client.{name} is gone: paho no longer does its I/O the way the adapter uses"
        found = list(inspect.signature(method).parameters)
        assert found == parameters, f"paho.Client.{name}{tuple(found)} was {name}{tuple(parameters)}"
        assert "self._sock" in inspect.getsource(method), f"paho.Client.{name} no longer uses self._sock"


@pytest.mark.parametrize("protocol", PROTOCOLS.values(), ids=PROTOCOLS.keys())
def test_paho_keeps_its_socket_in_client_sock(pair: tuple[socket.socket, socket.socket], protocol: int) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="adapter-test", protocol=protocol)
    assert "_sock" in vars(client), "paho.Client has no _sock attribute any more"
    assert client.socket() is None
    stream = BufferedStream(pair[0], lambda: None)
    install_stream(client, stream)
    assert client.socket() is stream


def test_installing_the_stream_where_paho_does_not_look_is_an_error(pair: tuple[socket.socket, socket.socket]) -> None:
    class Moved(paho.Client):
        """A paho whose socket lives somewhere else."""

        def socket(self) -> None:  # type: ignore[override]
            return None

    client = Moved(CallbackAPIVersion.VERSION2, client_id="adapter-test")
    with pytest.raises(BusError, match=r"does not keep its socket in Client\._sock"):
        install_stream(client, BufferedStream(pair[0], lambda: None))


@pytest.mark.parametrize("protocol", PROTOCOLS.values(), ids=PROTOCOLS.keys())
def test_paho_reads_a_packet_through_the_stream_in_one_system_call(
    pair: tuple[socket.socket, socket.socket], protocol: int
) -> None:
    ours, peer = pair
    client, stream = client_on(ours, protocol, manual_ack=True)
    got: list[tuple[str, bytes, int, int]] = []
    client.on_message = lambda _c, _u, m: got.append((m.topic, m.payload, m.qos, m.mid))
    packets = [publish_packet(protocol, "classroom/r/devices/d/telemetry", b'{"n":%d}' % i, 100 + i) for i in range(3)]
    peer.sendall(b"".join(packets))
    for _ in packets:
        assert client.loop_read() == MQTTErrorCode.MQTT_ERR_SUCCESS
    assert got == [("classroom/r/devices/d/telemetry", b'{"n":%d}' % i, 1, 100 + i) for i in range(3)]
    assert stream.reads == 1, "paho did not read through the installed stream"
    # Nothing more to read: paho must take the stream's BlockingIOError as "again", not as a lost link.
    assert client.loop_read() == MQTTErrorCode.MQTT_ERR_SUCCESS
    assert stream.drained
    assert client.socket() is stream


@pytest.mark.parametrize("protocol", PROTOCOLS.values(), ids=PROTOCOLS.keys())
def test_the_end_of_the_stream_closes_paho_s_connection_through_the_stream(
    pair: tuple[socket.socket, socket.socket], protocol: int
) -> None:
    ours, peer = pair
    client, _stream = client_on(ours, protocol, manual_ack=True)
    closed: list[object] = []
    client.on_socket_close = lambda _c, _u, sock: closed.append(sock)
    peer.shutdown(socket.SHUT_WR)
    assert client.loop_read() == MQTTErrorCode.MQTT_ERR_CONN_LOST
    assert client.socket() is None
    assert closed and isinstance(closed[0], BufferedStream)
    assert ours.fileno() == -1, "paho did not close the connection through the stream"


@pytest.mark.parametrize("protocol", PROTOCOLS.values(), ids=PROTOCOLS.keys())
def test_the_hand_written_pubacks_are_the_bytes_paho_sends(
    pair: tuple[socket.socket, socket.socket], protocol: int
) -> None:
    ours, peer = pair
    client, _stream = client_on(ours, protocol, manual_ack=True)
    for mid in MIDS:
        assert client.ack(mid, 1) == MQTTErrorCode.MQTT_ERR_SUCCESS
        while client.want_write():
            client.loop_write()
        theirs = received(peer, 4)
        assert theirs == puback_packets([mid]), f"paho acknowledges mid {mid} with {theirs.hex()}"
    assert puback_packets(MIDS) == b"".join(puback_packets([m]) for m in MIDS)


@pytest.mark.parametrize("protocol", PROTOCOLS.values(), ids=PROTOCOLS.keys())
def test_the_hand_written_pubacks_are_what_paho_answers_a_publish_with(
    pair: tuple[socket.socket, socket.socket], protocol: int
) -> None:
    # Without manual acks paho acknowledges on receipt: the reference the hub's bulk acks must match.
    ours, peer = pair
    client, _stream = client_on(ours, protocol, manual_ack=False)
    for mid in MIDS:
        peer.sendall(publish_packet(protocol, "t", b"x", mid))
        assert client.loop_read() == MQTTErrorCode.MQTT_ERR_SUCCESS
        while client.want_write():
            client.loop_write()
        theirs = received(peer, 4)
        assert theirs == puback_packets([mid]), f"paho answers a PUBLISH with mid {mid} with {theirs.hex()}"

"""The MQTT link's byte streams under paho (classroom_hub/bus/paho_adapter.py), on real sockets."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from classroom_hub.bus.paho_adapter import BufferedStream


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    yield a, b
    a.close()
    b.close()


def test_many_small_reads_cost_one_system_call(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    stream = BufferedStream(a, lambda: None)
    packets = [bytes([0x30, 3, i, i, i]) for i in range(100)]
    b.sendall(b"".join(packets))
    got = []
    for _ in packets:  # the way paho reads a packet: type byte, length byte, body
        head = stream.recv(1) + stream.recv(1)
        got.append(head + stream.recv(head[1]))
    assert got == packets
    assert stream.reads == 1
    assert not stream.pending_input
    with pytest.raises(BlockingIOError):
        stream.recv(1)
    assert stream.drained


def test_the_end_of_the_stream_reaches_paho_as_empty_bytes(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    stream = BufferedStream(a, lambda: None)
    b.sendall(b"\x40\x02\x00\x07")
    b.shutdown(socket.SHUT_WR)
    assert stream.recv(4) == b"\x40\x02\x00\x07"
    assert stream.recv(1) == b""


def test_what_the_kernel_does_not_take_waits_in_order(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    pending: list[bool] = []
    stream = BufferedStream(a, lambda: pending.append(True))
    chunks = [bytes([i % 251]) * 10_000 for i in range(50)]  # 500 kB: far more than the buffers hold
    for chunk in chunks:
        assert stream.send(chunk) == len(chunk)  # paho is told all of it went
    stream.puback([1, 65535])
    assert pending, "the link was not told to wait for the socket to be writable"
    assert stream.pending_output
    received = bytearray()
    b.setblocking(False)
    while True:
        try:
            data = b.recv(65536)
        except BlockingIOError:
            if stream.flush():
                try:
                    received += b.recv(65536)
                    continue
                except BlockingIOError:
                    break
            continue
        received += data
    assert bytes(received) == b"".join(chunks) + b"\x40\x02\x00\x01\x40\x02\xff\xff"
    assert not stream.pending_output


def test_a_reset_connection_is_reported_to_the_caller(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    stream = BufferedStream(a, lambda: None)
    b.close()
    with pytest.raises(OSError):
        for _ in range(100):  # the first write may still land in the kernel's buffer
            stream.write(b"x" * 100_000)
            stream.flush()

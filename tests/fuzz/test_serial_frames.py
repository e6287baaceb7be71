"""Serial frames: whatever a kit board (broken, rebooting, or flashed by a student) sends.

The codec alone (tests/firmware_bridge/test_decoder_fuzz.py covers the stream decoder and
the TLV decoder byte by byte) is fuzzed here with *structured* streams: frames of every
type, with TLV payloads whose keys, tags, lengths and values are wrong one at a time, some
answering the command in flight, then damaged on the wire. They reach a :class:`KitLink`
over a real pseudo-terminal, with the :class:`BusBridge` as its listener. Whatever comes,
the link drops or counts what it cannot use, a command in flight ends with its ACK or a
firmware-bridge error, the next good frame gets through (the decoder is not
desynchronised), and everything the bridge puts on the bus is a payload the hub's own
ingest accepts. A board that announces a restart takes the link down, as documented,
and a new link works.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import termios
import tty
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from classroom_hub.bus.payloads import EVENT, STATUS, TELEMETRY
from classroom_hub.problems import describe
from classroom_hub.rejects import Rejections
from firmware_bridge.bus_bridge import BusBridge
from firmware_bridge.errors import FrameError
from firmware_bridge.frames import MAX_PAYLOAD, Frame, FrameDecoder, FrameType, encode_frame
from firmware_bridge.kit import LinkState
from firmware_bridge.link import KitLink
from firmware_bridge.payload import TAG_BOOL, TAG_FLOAT, TAG_INT, TAG_STR, encode_fields
from tests.fuzz.profile import counted, fuzz
from tests.fuzz.strategies import damage

ROOM = "lab-fuzz"
IDENTIFY = {"id": "robot-9", "kind": "robot", "fw": "robot 1.4.2", "proto": 1, "pmin": 1, "pmax": 1, "hb": 60_000,
            "hbto": 60_000, "up": 1000, "caps": "drive,stop,estop", "outs": "motor_l,motor_r"}  # fmt: skip


# --- the board on the other end of a pseudo-terminal ------------------------------------------


class PtyBoard:
    """The board's end of a real pty: answers HELLO with IDENTIFY and sends whatever it is told."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.commands: list[Frame] = []  # COMMAND frames the host sent, last one last
        self.commanded = asyncio.Event()
        self._decoder = FrameDecoder()
        self._seq = itertools.count(1)
        asyncio.get_running_loop().add_reader(self.master, self._readable)

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)
        os.close(self.slave)

    def next_seq(self) -> int:
        return next(self._seq) & 0xFFFF

    def _readable(self) -> None:
        with contextlib.suppress(BlockingIOError):
            for frame in self._decoder.feed(os.read(self.master, 4096)):
                if frame.type == FrameType.HELLO:
                    self.write_now(encode_frame(Frame(FrameType.IDENTIFY, self.next_seq(), encode_fields(IDENTIFY))))
                elif frame.type == FrameType.COMMAND:
                    self.commands.append(frame)
                    self.commanded.set()

    def write_now(self, data: bytes) -> None:
        os.write(self.master, data)

    async def send(self, data: bytes) -> None:
        """Write ``data`` toward the host however slowly it reads (the pty holds a few KB)."""
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.master, view[:1024]) :]
            except BlockingIOError:
                await asyncio.sleep(0.001)


class Bus:
    """Stands in for the MQTT link: keeps what the bridge publishes."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.arrived = asyncio.Event()

    def publish(self, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False) -> None:
        self.messages.append((topic, payload.encode() if isinstance(payload, str) else payload))
        self.arrived.set()


@dataclass
class Kit:
    board: PtyBoard
    bus: Bus
    bridge: BusBridge
    link: KitLink | None = None
    errors: list[logging.LogRecord] = field(default_factory=list)

    async def connect(self) -> KitLink:
        if self.link is not None:
            await self.link.close()
        termios.tcflush(self.board.slave, termios.TCIFLUSH)  # a fresh line: what the old link left unread is gone
        self.link = KitLink(self.board.path, command_timeout=0.2, command_attempts=2)
        identity = await self.link.open()
        self.link.listener = self.bridge
        self.bridge.on_hello(identity)  # what the supervisor does for an accepted board
        self.bridge.on_state(identity.device_id, LinkState.ONLINE)
        return self.link


class _Errors(logging.Handler):
    def __init__(self, into: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record)


@pytest.fixture
async def kit() -> AsyncIterator[Kit]:
    board = PtyBoard()
    bus = Bus()
    found = Kit(board, bus, BusBridge(bus, ROOM, Rejections()))  # type: ignore[arg-type]
    handler = _Errors(found.errors)
    logging.getLogger().addHandler(handler)
    try:
        await found.connect()
        yield found
    finally:
        logging.getLogger().removeHandler(handler)
        if found.link is not None:
            await found.link.close()
        await found.bridge.close()
        board.close()


# --- what a board may send -------------------------------------------------------------------

KEYS = st.one_of(
    st.sampled_from(["ph", "level", "battery", "motor_l", "distance", "colour", "up", "code", "err", "event", "slot"]),
    st.from_regex(r"[a-z0-9_]{1,24}", fullmatch=True),
)
NAMES = st.one_of(
    st.sampled_from(["estop", "program_done", "host_lost", "bump", "0bad", "Upper"]), st.text(max_size=30)
)
TLV_VALUES = st.one_of(
    st.booleans(),
    st.integers(-(2**31), 2**31 - 1),
    st.floats(width=32, allow_nan=False, allow_infinity=False),
    st.text(max_size=40).filter(lambda s: len(s.encode()) <= 255),
)


@st.composite
def tlv_item(draw: st.DrawFn) -> bytes:
    """One TLV item: well formed, or wrong in exactly one of its parts."""
    key = draw(KEYS).encode()
    fault = draw(st.sampled_from(["none", "none", "none", "key", "tag", "length", "nan", "bool", "utf8", "truncated"]))
    if fault == "key":
        key = draw(st.sampled_from([b"", b"A", b"k" * 25, b"\xff", b"a b", b"\x00"]))
    value = draw(TLV_VALUES)
    if fault == "nan":
        body = bytes([TAG_FLOAT]) + draw(
            st.sampled_from([b"\x00\x00\xc0\x7f", b"\x00\x00\x80\x7f", b"\x00\x00\x80\xff"])
        )
    elif fault == "bool":
        body = bytes([TAG_BOOL, draw(st.integers(2, 255))])
    elif fault == "utf8":
        raw = draw(st.sampled_from([b"\xff\xfe", b"\xed\xa0\x80", b"\xc3", b"a\x00b"]))
        body = bytes([TAG_STR, len(raw)]) + raw
    elif fault == "tag":
        body = bytes([draw(st.integers(0, 255).filter(lambda t: t not in (TAG_INT, TAG_FLOAT, TAG_BOOL, TAG_STR)))])
        body += draw(st.binary(max_size=6))
    else:
        body = encode_fields([("k", value)])[2:]  # the tag and value the encoder writes for it
    item = bytes([len(key)]) + key + body
    if fault == "length":
        item = bytes([draw(st.integers(0, 255))]) + item[1:]
    if fault == "truncated":
        item = item[: draw(st.integers(0, max(0, len(item) - 1)))]
    return item


def _fields(draw: st.DrawFn, wanted: dict[str, Any]) -> bytes:
    """A TLV payload for a frame: mostly the fields it should carry, some of them broken."""
    if draw(st.integers(0, 3)) == 0:
        return b"".join(draw(st.lists(tlv_item(), max_size=8)))
    items = [encode_fields([(key, value)]) for key, value in wanted.items()]
    for _ in range(draw(st.integers(0, 3))):
        if items and draw(st.booleans()):
            del items[draw(st.integers(0, len(items) - 1))]
        items.insert(draw(st.integers(0, len(items))), draw(tlv_item()))
    return b"".join(items)


PENDING = -1  # the seq of the command in flight, known only when the frame is sent


@st.composite
def frames(draw: st.DrawFn) -> Frame:
    kind = draw(st.sampled_from([*FrameType, 0, 0x0A, 0xFF]))
    seq = draw(st.one_of(st.integers(0, 0xFFFF), st.just(PENDING)))
    if kind == FrameType.TELEMETRY:
        wanted: dict[str, Any] = dict(draw(st.dictionaries(KEYS, TLV_VALUES, max_size=6)))
    elif kind == FrameType.EVENT:
        name = draw(NAMES.filter(lambda s: len(s.encode()) <= 255))
        wanted = {"event": name, **draw(st.dictionaries(KEYS, TLV_VALUES, max_size=3))}
    elif kind == FrameType.IDENTIFY:
        wanted = {**IDENTIFY, "proto": draw(st.sampled_from([0, 1, 1, 2])), "pmax": draw(st.sampled_from([0, 1, 5]))}
    elif kind in (FrameType.ACK, FrameType.NACK):
        seq = draw(st.sampled_from([PENDING, PENDING, seq]))
        wanted = {"code": draw(st.integers(-5, 300)), "err": draw(NAMES.filter(lambda s: len(s.encode()) <= 255))}
    elif kind == FrameType.HEARTBEAT:
        wanted = {"up": draw(st.one_of(st.integers(0, 2**31 - 1), st.booleans(), st.just("x")))}
    elif kind == FrameType.CONSOLE:
        return Frame(kind, seq, draw(st.binary(max_size=MAX_PAYLOAD)))
    else:
        wanted = {}
    payload = _fields(draw, wanted)[:MAX_PAYLOAD]
    return Frame(kind, seq, payload)


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[Frame], bool, list[int]]:
    """Frames, whether the wire damages them, and how the bytes are split into writes."""
    return (
        draw(st.lists(frames(), min_size=1, max_size=6)),
        draw(st.integers(0, 3)) == 0,
        draw(st.lists(st.integers(1, 300), max_size=6)),
    )


def _wire(sent: list[Frame], pending: int) -> bytes:
    return b"".join(encode_frame(Frame(f.type, pending if f.seq == PENDING else f.seq, f.payload)) for f in sent)


def _chunks(data: bytes, sizes: list[int]) -> Iterator[bytes]:
    at = 0
    for size in sizes:
        yield data[at : at + size]
        at += size
    yield data[at:]


_probes = itertools.count(1)


def _check_on_the_bus(bus: Bus) -> None:
    """Every message the bridge published is one the hub's ingest accepts."""
    models = {"status": STATUS, "telemetry": TELEMETRY, "event": EVENT}
    for topic, payload in bus.messages:
        channel = topic.rsplit("/", 1)[-1]
        if channel in models:
            try:
                models[channel].validate_json(payload)
            except ValidationError as err:
                raise AssertionError(f"{topic}: {payload!r}: {describe(err, root='payload', limit=1)}") from err


def _probe_arrived(bus: Bus, probe: int) -> bool:
    for topic, payload in bus.messages:
        if topic.endswith("/telemetry"):
            readings = json.loads(payload)["readings"]
            if {"key": "distance", "value": float(probe), "unit": "cm"} in readings:
                return True
    return False


@fuzz(ci=150)
@given(stream=streams(), data=st.data())
@counted("serial frames through a KitLink")
async def test_a_kit_link_survives_any_stream_and_the_next_good_frame_arrives(
    kit: Kit, stream: tuple[list[Frame], bool, list[int]], data: st.DataObject
) -> None:
    link = kit.link if kit.link is not None and kit.link.is_up else await kit.connect()
    sent, damaged, sizes = stream
    kit.bus.messages.clear()
    kit.errors.clear()
    kit.board.commanded.clear()
    command = asyncio.create_task(link.command("drive", {"l": 10, "r": 10}))
    try:
        async with asyncio.timeout(5):
            await kit.board.commanded.wait()
        seq = kit.board.commands[-1].seq
        wire = _wire(sent, seq)  # ACKs and NACKs may answer the command in flight
        if damaged:
            wire = damage(data.draw, wire)
        for chunk in _chunks(wire, sizes):
            await kit.board.send(chunk)
        await _next_good_frame_arrives(kit, link)
        if not command.done():  # the board answers it now, if the stream did not
            await kit.board.send(encode_frame(Frame(FrameType.ACK, seq, b"")))
    finally:
        async with asyncio.timeout(10):
            try:
                result = await command
            except FrameError:
                pass  # NACK, no ACK, or the link went down: each a documented end of a command
            else:
                assert isinstance(result, dict)
    _check_on_the_bus(kit.bus)
    assert not kit.errors, [f"{r.getMessage()} {r.exc_text or ''}" for r in kit.errors]


async def _next_good_frame_arrives(kit: Kit, link: KitLink) -> None:
    """One delimiter ends whatever the stream left unfinished; then a good frame with a probe."""
    probe = next(_probes)
    good = Frame(FrameType.TELEMETRY, kit.board.next_seq(), encode_fields({"distance": probe}))
    await kit.board.send(b"\x00" + encode_frame(good))
    async with asyncio.timeout(10):
        while link.is_up and not _probe_arrived(kit.bus, probe):
            kit.bus.arrived.clear()
            lost = asyncio.ensure_future(link.wait_lost())
            arrived = asyncio.ensure_future(kit.bus.arrived.wait())
            await asyncio.wait([lost, arrived], return_when=asyncio.FIRST_COMPLETED)
            lost.cancel()
            arrived.cancel()
    if not link.is_up:
        reason = await link.wait_lost()  # a board that says it restarted, as the protocol defines
        assert "restarted" in str(reason), reason

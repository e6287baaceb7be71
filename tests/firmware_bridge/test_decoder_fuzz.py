"""Hypothesis against the Python stream decoder: nothing escapes, memory stays bounded,
and a good frame after any garbage is still decoded once the line delivers a delimiter."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_bridge.cobs import cobs_decode, cobs_encode
from firmware_bridge.errors import MalformedFrame, PayloadError
from firmware_bridge.frames import MAX_ENCODED, MAX_PAYLOAD, Frame, FrameDecoder, decode_frame, encode_frame
from firmware_bridge.payload import decode_fields, encode_fields

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

frames = st.builds(
    Frame,
    type=st.integers(0, 255),
    seq=st.integers(0, 0xFFFF),
    payload=st.binary(max_size=MAX_PAYLOAD),
)


@st.composite
def mutated_streams(draw: st.DrawFn) -> bytes:
    """Valid frames, then bit flips, truncations, insertions and oversize runs."""
    wire = bytearray(b"".join(encode_frame(f) for f in draw(st.lists(frames, max_size=6))))
    for _ in range(draw(st.integers(0, 8))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "run"]))
        at = draw(st.integers(0, len(wire)))
        if action == "flip" and wire:
            index = min(at, len(wire) - 1)
            wire[index] ^= 1 << draw(st.integers(0, 7))
        elif action == "cut":
            del wire[at : at + draw(st.integers(1, 40))]
        elif action == "insert":
            wire[at:at] = draw(st.binary(min_size=1, max_size=40))
        else:
            wire[at:at] = bytes([draw(st.integers(1, 255))]) * draw(st.integers(200, 1200))
    return bytes(wire)


def feed_in_chunks(decoder: FrameDecoder, data: bytes, sizes: list[int]) -> list[Frame]:
    out: list[Frame] = []
    pos = 0
    for size in sizes or [len(data) or 1]:
        out += decoder.feed(data[pos : pos + size])
        assert decoder.buffered <= MAX_ENCODED
        pos += size
    out += decoder.feed(data[pos:])
    assert decoder.buffered <= MAX_ENCODED
    return out


@FAST
@given(st.binary(max_size=4000), st.lists(st.integers(1, 300), max_size=30))
def test_random_bytes_never_raise_and_stay_bounded(data: bytes, sizes: list[int]) -> None:
    feed_in_chunks(FrameDecoder(), data, sizes)


@FAST
@given(mutated_streams(), st.lists(st.integers(1, 300), max_size=30), frames)
def test_a_good_frame_after_any_damage_is_decoded(damaged: bytes, sizes: list[int], good: Frame) -> None:
    decoder = FrameDecoder()
    feed_in_chunks(decoder, damaged, sizes)
    # One delimiter ends whatever partial frame the damage left (which may happen to be a whole
    # frame that only lacked its delimiter); the next frame must come through.
    out = decoder.feed(b"\x00" + encode_frame(good))
    assert out[-1:] == [good] and len(out) <= 2


@FAST
@given(st.lists(frames, max_size=8), st.lists(st.integers(1, 64), max_size=40))
def test_undamaged_frames_all_arrive_whatever_the_chunking(sent: list[Frame], sizes: list[int]) -> None:
    decoder = FrameDecoder()
    wire = b"".join(encode_frame(f) for f in sent)
    assert feed_in_chunks(decoder, wire, sizes) == sent
    assert sum(decoder.dropped.values()) == 0


@FAST
@given(st.binary(max_size=600))
def test_cobs_round_trips_and_never_emits_the_delimiter(data: bytes) -> None:
    encoded = cobs_encode(data)
    assert 0 not in encoded
    assert len(encoded) <= len(data) + len(data) // 254 + 1
    assert cobs_decode(encoded) == data


@FAST
@given(st.binary(max_size=400))
def test_decode_frame_only_raises_malformed_frame(data: bytes) -> None:
    with contextlib.suppress(MalformedFrame):
        decode_frame(data)


@FAST
@given(st.binary(max_size=300))
def test_tlv_decoder_only_raises_payload_error(data: bytes) -> None:
    with contextlib.suppress(PayloadError):
        decode_fields(data)


keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=24)
values = st.one_of(
    st.booleans(),
    st.integers(-(2**31), 2**31 - 1),
    st.floats(width=32, allow_nan=False, allow_infinity=False),
    st.text(max_size=40).filter(lambda s: len(s.encode()) <= 255),
)


@FAST
@given(st.dictionaries(keys, values, max_size=8))
def test_tlv_round_trip(fields: dict[str, bool | int | float | str]) -> None:
    wire = encode_fields(fields)
    decoded = decode_fields(wire)
    # Floats come back as the shortest decimal of the same binary32, so compare on the wire.
    assert encode_fields(decoded) == wire
    assert {k: v for k, v in decoded.items() if not isinstance(v, float)} == {
        k: v for k, v in fields.items() if not isinstance(v, float)
    }


def test_a_long_run_without_delimiter_holds_no_more_than_one_frame() -> None:
    decoder = FrameDecoder()
    for _ in range(1000):  # 1 MB of line noise with no 0x00
        decoder.feed(b"\x55" * 1024)
    assert decoder.buffered == 0
    assert decoder.dropped["oversize"] == 1
    assert decoder.feed(b"\x00" + encode_frame(Frame(3, 1))) == [Frame(3, 1)]

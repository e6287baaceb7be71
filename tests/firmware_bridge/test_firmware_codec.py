"""The C++ protocol core: the shared vectors, and hypothesis-driven fuzzing of the firmware
built with AddressSanitizer + UBSan (``kit_host_asan --fuzz-stdin``), checked against the
Python decoder byte for byte."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_bridge.frames import Frame, FrameDecoder, FrameType, encode_frame
from firmware_bridge.payload import encode_fields

VECTORS = Path(__file__).resolve().parents[2] / "firmware_bridge" / "firmware" / "test_vectors.json"


def test_cpp_core_decodes_and_encodes_the_shared_vectors(firmware) -> None:
    result = subprocess.run(
        [str(firmware.test_vectors), str(VECTORS)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    checks = int(result.stdout.split()[0])
    assert checks >= 150, result.stdout
    assert "0 failures" in result.stdout


def run_firmware(binary: Path, data: bytes, kit: str = "robot", seed: int = 1) -> dict[str, int]:
    result = subprocess.run(
        [str(binary), "--kit", kit, "--fuzz-stdin", "--seed", str(seed), "--telemetry-ms", "50",
         "--heartbeat-ms", "40", "--host-timeout-ms", "100"],
        input=data,
        capture_output=True,
        timeout=20,  # a hang fails here
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    report: dict[str, int] = json.loads(result.stdout.decode().strip().splitlines()[-1])
    return report


def python_counts(data: bytes) -> dict[str, int]:
    decoder = FrameDecoder()
    decoder.feed(data)
    return {"frames": decoder.frames, **decoder.dropped, "buffered": decoder.buffered}


def session(*commands: tuple[str, dict[str, bool | int | float | str]]) -> bytes:
    """A plausible host: HELLO then commands, each with heartbeats around it."""
    out = encode_frame(Frame(FrameType.HELLO, 1, encode_fields({"pmin": 1, "pmax": 1})))
    for seq, (name, args) in enumerate(commands, start=2):
        out += encode_frame(Frame(FrameType.COMMAND, seq, encode_fields([("cmd", name), *args.items()])))
        out += encode_frame(Frame(FrameType.HEARTBEAT, seq))
    return out


ROBOT_SESSION = session(
    ("drive", {"left": 50, "right": -50}),
    ("store", {"slot": 1, "program": "F50:30;L40:20;W10;S"}),
    ("run", {"slot": 1}),
    ("set", {"led": True, "speed_limit": 60}),
    ("estop", {}),
    ("reset", {}),
    ("bogus", {"x": 1.5}),
)
NODE_SESSION = session(("set", {"pump": True, "lights": False}), ("feed", {"portions": 3}), ("identify", {}))


@st.composite
def damaged(draw: st.DrawFn, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(0, 12))):
        at = draw(st.integers(0, len(data)))
        match draw(st.sampled_from(["flip", "cut", "insert", "run", "zero"])):
            case "flip" if data:
                data[min(at, len(data) - 1)] ^= 1 << draw(st.integers(0, 7))
            case "cut":
                del data[at : at + draw(st.integers(1, 30))]
            case "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=30))
            case "run":
                data[at:at] = b"\x7f" * draw(st.integers(250, 700))
            case _:
                data[at:at] = b"\x00"
    return bytes(data)


FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.one_of(damaged(ROBOT_SESSION), st.binary(max_size=3000)), st.integers(0, 2**31 - 1))
def test_robot_firmware_survives_damaged_and_random_input(firmware, data: bytes, seed: int) -> None:
    report = run_firmware(firmware.kit_host_asan, data, "robot", seed)
    expected = python_counts(data)
    assert {k: report[k] for k in expected} == expected  # same verdict as the Python decoder
    assert report["tx_bad"] == 0  # everything the board sent is a good frame


@FUZZ
@given(damaged(NODE_SESSION), st.integers(0, 2**31 - 1))
def test_sensor_node_firmware_survives_damaged_input(firmware, data: bytes, seed: int) -> None:
    report = run_firmware(firmware.kit_host_asan, data, "vinaponics", seed)
    assert {k: report[k] for k in ("frames", "bad_crc", "bad_cobs", "oversize")} == {
        k: python_counts(data)[k] for k in ("frames", "bad_crc", "bad_cobs", "oversize")
    }
    assert report["tx_bad"] == 0


def test_undamaged_session_runs_every_command(firmware) -> None:
    report = run_firmware(firmware.kit_host_asan, ROBOT_SESSION)
    assert report["frames"] == 15 and report["commands"] == 7
    assert report["tx_frames"] > 7 and report["tx_bad"] == 0


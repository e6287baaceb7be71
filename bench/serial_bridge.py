"""Serial bridge measurements (issue 6).

1. Decoder throughput: frames per second the Python FrameDecoder handles on one core, fed
   in 1024-byte chunks as pyserial-asyncio-fast delivers them, with and without decoding
   the TLV payload; and what multiple of a 115,200-baud line (11,520 bytes/s of 8N1) that is.
2. Latency: from the host-built firmware writing a TELEMETRY frame on a pty (it stamps
   CLOCK_MONOTONIC into the frame) to the KitLink listener callback, p50/p99.
3. End-to-end latency: the same stamped frame, through the port supervisor and the bus bridge
   (firmware_bridge/bus_bridge.py) and a real Mosquitto, to an MQTT client subscribed to the
   kit's ``.../telemetry`` topic, p50/p99 (target p99 <= 10 ms). Uses the machine's Mosquitto
   on 127.0.0.1:1883 when it runs, else a private one with the shipped settings.

4. The emulated Uno (issue 15): the robot sketch's shipped image on simavr (kit_sim), KitLink
   on its pty. Command round trips, short (``set``) and of the protocol's maximum size (1,000
   ``upload_chunk`` frames of 249-byte payload, one after the other as the hub sends an upload),
   p50/p99 beside the line-rate floor for the same bytes; long frames lost (board counters and
   retransmissions). Target: 0 lost, p99 <= 2 x floor + the board's stated loop time (7 ms).
   The short commands again with a bare host, timed on the board's clock from the harness's
   stamps (``short.board_clock``): the board's part of the round trip without the host
   machine's scheduling, and the frames the ACKs waited behind (telemetry parts).

Floors, measured in the same run:
1. ``decoder.floor_frames_per_s``: the part of the decoder's work C does, the same stream
   split at its delimiters and a CRC run over every piece; the requirement is the line rate.
2. ``latency_floor``: the same stamped frames read from the pty by a bare reader (the
   loop's reader callback and one ``os.read``, frames decoded after the run, HELLO and
   heartbeats written by hand): what reaching Python costs, without the link.
3. ``mqtt_hop_floor``: stamped messages published at the same period from one MQTT link to
   the subscriber, on the same broker, with the same links as (3): the MQTT part alone.

Run: .venv/bin/python bench/serial_bridge.py [--seconds 4] [--period-ms 2] [--emulated-frames 1000]
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import binascii
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tty
from pathlib import Path
from typing import Any

from broker import port_open, private_mosquitto
from stats import DEFINITION, summary

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classroom_hub.bus.link import Message, MqttLink  # noqa: E402
from classroom_hub.bus.topics import device_topic  # noqa: E402
from firmware_bridge import emulated_board  # noqa: E402
from firmware_bridge.bus_bridge import BusBridge  # noqa: E402
from firmware_bridge.frames import MAX_PAYLOAD, Frame, FrameDecoder, FrameType, encode_frame  # noqa: E402
from firmware_bridge.kit import KitIdentity, LinkState  # noqa: E402
from firmware_bridge.link import KitLink  # noqa: E402
from firmware_bridge.payload import Fields, decode_fields, encode_fields  # noqa: E402
from firmware_bridge.ports import fixed_ports  # noqa: E402
from firmware_bridge.supervisor import KitSupervisor  # noqa: E402

LINE_BYTES_PER_S = 115_200 // 10  # 8N1: 10 bits per byte
FIRMWARE = ROOT / "firmware_bridge" / "firmware"
# simavr times a byte as 11 bits at the baud the firmware sets (16 MHz / (8 x 17) = 117,647)
EMULATED_BYTES_PER_S = 16_000_000 / (8 * 17) / 11
ROBOT_LOOP_MS = 7.0  # the robot sketch's longest loop pass (firmware_bridge/firmware/README.md)


def telemetry_stream(frames: int) -> bytes:
    """A Vinaponics node's traffic: full telemetry frames with a heartbeat every fifth."""
    out = bytearray()
    for seq in range(frames):
        if seq % 5 == 4:
            out += encode_frame(Frame(FrameType.HEARTBEAT, seq & 0xFFFF, encode_fields({"up": seq * 100})))
            continue
        fields = {
            "ph": 6.8 + seq % 7 * 0.01,
            "water_temp": 22.5,
            "do": 7.25,
            "ec": 1.375,
            "tds": 688,
            "level": 81.5,
            "air_temp": 24.25,
            "humidity": 58.5,
            "light": 12000.0,
            "pump": True,
            "aerator": True,
            "lights": False,
            "fed": seq % 9,
            "host": True,
        }
        out += encode_frame(Frame(FrameType.TELEMETRY, seq & 0xFFFF, encode_fields(fields)))
    return bytes(out)


def decoder_throughput(frames: int = 20_000, rounds: int = 5) -> dict[str, float]:
    stream = telemetry_stream(frames)
    chunks = [stream[i : i + 1024] for i in range(0, len(stream), 1024)]
    best_frames = best_fields = best_floor = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        pieces = [binascii.crc_hqx(piece, 0xFFFF) for piece in stream.split(b"\x00") if piece]
        best_floor = min(best_floor, time.perf_counter() - started)
        assert len(pieces) == frames

        decoder = FrameDecoder()
        started = time.perf_counter()
        count = sum(len(decoder.feed(chunk)) for chunk in chunks)
        best_frames = min(best_frames, time.perf_counter() - started)
        assert count == frames and not any(decoder.dropped.values())

        decoder = FrameDecoder()
        started = time.perf_counter()
        for chunk in chunks:
            for frame in decoder.feed(chunk):
                decode_fields(frame.payload)
        best_fields = min(best_fields, time.perf_counter() - started)
    bytes_per_s = len(stream) / best_frames
    return {
        "stream_bytes": len(stream),
        "mean_frame_bytes": round(len(stream) / frames, 1),
        "frames_per_s": round(frames / best_frames),
        "bytes_per_s": round(bytes_per_s),
        "line_rate_multiple": round(bytes_per_s / LINE_BYTES_PER_S, 1),
        "frames_per_s_with_tlv": round(frames / best_fields),
        "line_rate_multiple_with_tlv": round(len(stream) / best_fields / LINE_BYTES_PER_S, 1),
        "floor_frames_per_s": round(frames / best_floor),
        "line_bytes_per_s": LINE_BYTES_PER_S,
    }


class LatencyProbe:
    def __init__(self, wanted: int) -> None:
        self.samples_us: list[int] = []
        self.wanted = wanted
        self.done = asyncio.Event()

    def on_telemetry(self, device_id: str, readings: Fields) -> None:
        now_us = (time.monotonic_ns() // 1000) & 0x7FFFFFFF
        sent = readings.get("tx_us")
        if isinstance(sent, int) and not isinstance(sent, bool):
            self.samples_us.append((now_us - sent) & 0x7FFFFFFF)
            if len(self.samples_us) >= self.wanted:
                self.done.set()

    def on_hello(self, kit: KitIdentity) -> None: ...
    def on_state(self, device_id: str, state: LinkState) -> None: ...
    def on_event(self, device_id: str, name: str, fields: Fields) -> None: ...
    def on_console(self, device_id: str, text: str) -> None: ...


async def telemetry_latency(seconds: float, period_ms: int) -> dict[str, float]:
    binary = FIRMWARE / "build" / "kit_host"
    master, slave = os.openpty()
    tty.setraw(slave)
    process = await asyncio.create_subprocess_exec(
        str(binary),
        "--kit",
        "vinaponics",
        "--fd",
        str(master),
        "--stamp",
        "--telemetry-ms",
        str(period_ms),
        "--heartbeat-ms",
        "100",
        pass_fds=(master,),
    )
    probe = LatencyProbe(wanted=int(seconds * 1000 / period_ms))
    try:
        async with KitLink(os.ttyname(slave)) as link:
            link.listener = probe
            await asyncio.sleep(0.2)  # let the first frames and any start-up jitter pass
            probe.samples_us.clear()
            try:
                async with asyncio.timeout(seconds * 3):
                    await probe.done.wait()
            except TimeoutError:
                pass
            missed = link.counters["missed_frames"]
            dropped = sum(link.decoder.dropped.values())
    finally:
        process.terminate()
        await process.wait()
        os.close(master)
        os.close(slave)
    samples = [us / 1000 for us in probe.samples_us]
    return {
        "samples": len(samples),
        "period_ms": period_ms,
        **{f"{k}_ms": v for k, v in summary(samples, 3).items()},
        "missed_frames": missed,
        "dropped_frames": dropped,
    }


async def telemetry_latency_floor(seconds: float, period_ms: int) -> dict[str, float]:
    """The same stamped frames, read by a bare reader: the loop's reader callback and one os.read."""
    binary = FIRMWARE / "build" / "kit_host"
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(slave, False)
    process = await asyncio.create_subprocess_exec(
        str(binary), "--kit", "vinaponics", "--fd", str(master), "--stamp", "--telemetry-ms", str(period_ms),
        "--heartbeat-ms", "100", pass_fds=(master,),
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    arrivals: list[tuple[int, bytes]] = []

    def on_readable() -> None:
        with contextlib.suppress(BlockingIOError):
            data = os.read(slave, 65536)  # stamped after the read: it may bring frames written since the wake-up
            arrivals.append(((time.monotonic_ns() // 1000) & 0x7FFFFFFF, data))

    def send(frame_type: FrameType, seq: int, payload: bytes = b"") -> None:
        os.write(slave, encode_frame(Frame(frame_type, seq, payload)))

    loop.add_reader(slave, on_readable)
    try:
        os.write(slave, b"\x00")
        send(FrameType.HELLO, 1, encode_fields({"pmin": 1, "pmax": 1, "host": "bench"}))
        await asyncio.sleep(0.2)  # the session starts; start-up jitter passes
        arrivals.clear()
        deadline = time.monotonic() + seconds
        seq = 1
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            seq += 1
            send(FrameType.HEARTBEAT, seq)  # the board keeps its session only while the host is heard
    finally:
        loop.remove_reader(slave)
        process.terminate()
        await process.wait()
        os.close(master)
        os.close(slave)
    decoder = FrameDecoder()
    samples: list[float] = []
    for now_us, data in arrivals:
        for frame in decoder.feed(data):
            if frame.type == FrameType.TELEMETRY:
                sent = decode_fields(frame.payload).get("tx_us")
                if isinstance(sent, int) and not isinstance(sent, bool):
                    samples.append(((now_us - sent) & 0x7FFFFFFF) / 1000)
    if not samples:
        raise SystemExit("latency floor: the board sent no stamped telemetry to the bare reader")
    return {"samples": len(samples), "period_ms": period_ms, **{f"{k}_ms": v for k, v in summary(samples, 3).items()}}


def quantiles_ms(samples: list[float]) -> dict[str, float]:
    """p50, p99 and max in milliseconds, by the benches' one percentile definition (bench/stats.py)."""
    ms = summary((s * 1000 for s in samples), digits=2)
    return {"p50_ms": ms["p50"], "p99_ms": ms["p99"], "max_ms": ms["max"]}


async def round_trips(link: KitLink, name: str, args: dict[str, Any], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await link.command(name, args)
        samples.append(time.perf_counter() - started)
    return samples


def floor_ms(name: str, args: dict[str, Any], result: dict[str, Any]) -> dict[str, float]:
    """The line's own time for a command and its ACK: nothing can answer faster."""
    sent = len(encode_frame(Frame(FrameType.COMMAND, 300, encode_fields([("cmd", name), *args.items()]))))
    back = len(encode_frame(Frame(FrameType.ACK, 300, encode_fields(result))))
    return {"bytes": sent + back, "floor_ms": round((sent + back) / LINE_BYTES_PER_S * 1000, 2),
            "floor_emulated_ms": round((sent + back) / EMULATED_BYTES_PER_S * 1000, 2)}  # fmt: skip


async def emulated_uno(frames: int, short: int = 300) -> dict[str, Any]:
    """Round trips through the robot sketch's shipped image on the emulated ATmega328P."""
    image = FIRMWARE / "build" / "avr" / "uno" / "robot_kit.elf"
    master, slave = os.openpty()
    tty.setraw(slave)
    command = emulated_board.harness_command("robot", image, master)
    process = await asyncio.create_subprocess_exec(*command, pass_fds=(master,), stdin=subprocess.PIPE,
                                                   stdout=subprocess.PIPE)  # fmt: skip
    if hasattr(os, "sched_setaffinity"):  # the board is another machine: not on the host's pinned core
        os.sched_setaffinity(process.pid, range(os.cpu_count() or 1))
    try:
        async with KitLink(os.ttyname(slave), command_attempts=4) as link:
            short_args: dict[str, Any] = {"led": True}
            short_rtt = await round_trips(link, "set", short_args, short)
            chunk: dict[str, Any] = {"offset": 0, "data": "F50:800;" * 16}
            used = len(encode_fields([("cmd", "upload_chunk"), *chunk.items(), ("pad", "")]))
            chunk["pad"] = "p" * (MAX_PAYLOAD - used)  # the board ignores it: a 249-byte payload
            await link.command("upload_begin", {"slot": 0, "size": 192, "crc": 0})
            long_rtt = await round_trips(link, "upload_chunk", chunk, frames)
            board = (await link.stats())["board"]
            retransmits = link.counters["retransmits"]
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(b"report\n")
        while not (line := (await process.stdout.readline()).decode()).startswith("report "):
            pass
    finally:
        process.terminate()
        await process.wait()
        os.close(master)
        os.close(slave)
    report = {key: int(value) for key, value in (item.split("=") for item in line.split()[1:])}
    long_floor = floor_ms("upload_chunk", chunk, {"have": 128})
    lost = sum(board[key] for key in ("bad_cobs", "bad_crc", "oversize", "too_short", "bad_length", "rx_lost"))
    result = {
        "image": "uno/robot_kit (as shipped)",
        "short": {"commands": short, **floor_ms("set", short_args, {}), **quantiles_ms(short_rtt)},
        "long": {"frames": frames, "lost": lost, "retransmits": retransmits, "board_duplicates": board["duplicates"],
                 **long_floor, **quantiles_ms(long_rtt)},
        "board_loop_ms_measured": round(report["busy_max"] / 16_000, 2),
        "stated_loop_ms": ROBOT_LOOP_MS,
        "stack_max_bytes": report["stack_max"],
        "emulator_lag_ms": report["lag_ms"],
    }  # fmt: skip
    # Target: p99 <= 2 x the line's floor for the same bytes + the board's stated loop time.
    result["target_long_p99_ms"] = round(2 * long_floor["floor_ms"] + ROBOT_LOOP_MS, 2)
    result["target_short_p99_ms"] = round(2 * result["short"]["floor_ms"] + ROBOT_LOOP_MS, 2)
    result["meets_target"] = {
        "long": lost == 0 and result["long"]["p99_ms"] <= result["target_long_p99_ms"],
        # An ACK may wait for a frame the board is already sending: the firmware sends its
        # telemetry in parts of <= 56 bytes (5.4 ms on the emulated line) so that this wait
        # stays within the target; emulated_uno_board_clock() shows it on the board's clock.
        "short": result["short"]["p99_ms"] <= result["target_short_p99_ms"],
    }
    return result


async def emulated_uno_board_clock(count: int = 300) -> dict[str, Any]:
    """Where a short command's time goes, on the board's own clock (the harness's stamps).

    A bare host on the pty (HELLO, heartbeats and ``set`` commands written by hand, one after
    the other as in :func:`emulated_uno`) counts the frame ends both ways, so each command's
    end reaching the board (``rx n``) and its ACK's end leaving it (``tx n``) are known in CPU
    cycles. ``board_ms``: from the one to the other, which includes sending the ACK itself;
    ``round_trip_ms``: that plus the command's own time on the emulated line, the round trip
    without the host machine's scheduling. ``behind_frame``: ACKs that waited for a frame the
    board was already sending when the command arrived, by the type of that frame, and the
    largest such frame on the wire.
    """
    image = FIRMWARE / "build" / "avr" / "uno" / "robot_kit.elf"
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(slave, False)
    command = emulated_board.harness_command("robot", image, master)
    process = await asyncio.create_subprocess_exec(*command, pass_fds=(master,), stdin=subprocess.PIPE,
                                                   stdout=subprocess.PIPE)  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    hz = emulated_board.UNO.hz
    cycles_per_byte = hz / EMULATED_BYTES_PER_S
    stamps: dict[str, dict[int, int]] = {"rx": {}, "tx": {}}
    received: list[tuple[Frame | None, int]] = []  # every frame end from the board: frame, wire bytes
    pending = bytearray()
    arrived = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_readable() -> None:
        nonlocal pending
        with contextlib.suppress(BlockingIOError):
            for byte in os.read(slave, 65536):
                pending.append(byte)
                if byte == 0:
                    frames = FrameDecoder().feed(bytes(pending))
                    received.append((frames[0] if frames else None, len(pending)))
                    pending = bytearray()
                    arrived.set()

    stamped = asyncio.Event()

    async def read_stamps(stdout: asyncio.StreamReader) -> None:
        while line := (await stdout.readline()).decode():
            kind, *rest = line.split()
            if kind in stamps:
                stamps[kind][int(rest[0])] = int(rest[1])
                stamped.set()

    def ack_index(seq: int) -> int | None:
        for i in range(len(received) - 1, max(-1, len(received) - 9), -1):
            frame = received[i][0]
            if frame is not None and frame.type == FrameType.ACK and frame.seq == seq:
                return i
        return None

    ends_sent = 0

    def send(frame_type: FrameType, seq: int, fields: Any = ()) -> int:
        nonlocal ends_sent
        data = encode_frame(Frame(frame_type, seq, encode_fields(fields)))
        os.write(slave, data)
        ends_sent += 1
        return ends_sent - 1  # the harness's rx index of this frame's end

    reader = asyncio.create_task(read_stamps(process.stdout))
    loop.add_reader(slave, on_readable)
    samples: list[tuple[int, int, int]] = []  # command's rx index, its ACK's tx index, command bytes
    try:
        send(FrameType.HELLO, 1, {"pmin": 1, "pmax": 1, "host": "bench"})
        await asyncio.sleep(0.5)  # IDENTIFY, the first telemetry
        args: list[tuple[str, Any]] = [("cmd", "set"), ("led", True)]
        last_heartbeat, host_seq = time.monotonic(), 1
        for k in range(count):
            seq = 1000 + k
            rx_index = send(FrameType.COMMAND, seq, args)
            async with asyncio.timeout(5):
                while (tx_index := ack_index(seq)) is None:
                    arrived.clear()
                    await arrived.wait()
            samples.append((rx_index, tx_index, len(encode_frame(Frame(FrameType.COMMAND, seq, encode_fields(args))))))
            if time.monotonic() - last_heartbeat > 0.1:  # the board keeps its session while it hears the host
                host_seq += 1
                send(FrameType.HEARTBEAT, host_seq)
                last_heartbeat = time.monotonic()
        async with asyncio.timeout(5):
            while samples[-1][1] not in stamps["tx"] or samples[-1][0] not in stamps["rx"]:
                stamped.clear()
                await stamped.wait()
    finally:
        loop.remove_reader(slave)
        process.terminate()
        await process.wait()
        reader.cancel()
        os.close(master)
        os.close(slave)
    board_ms, round_trip_ms = [], []
    behind: dict[str, int] = {}
    behind_max = 0
    for rx_index, tx_index, command_bytes in samples:
        heard, answered = stamps["rx"][rx_index], stamps["tx"][tx_index]
        board_ms.append((answered - heard) / hz * 1000)
        round_trip_ms.append((answered - heard + command_bytes * cycles_per_byte) / hz * 1000)
        before, before_bytes = received[tx_index - 1] if tx_index > 0 else (None, 0)
        if before is not None and stamps["tx"].get(tx_index - 1, 0) > heard:  # still going out when the command came
            name = FrameType(before.type).name
            behind[name] = behind.get(name, 0) + 1
            behind_max = max(behind_max, before_bytes)
    return {
        "commands": count,
        "board_ms": summary(board_ms, 2),
        "round_trip_ms": summary(round_trip_ms, 2),
        "behind_frame": behind,
        "behind_frame_max_bytes": behind_max,
        "telemetry_frame_bytes": sorted({n for f, n in received if f is not None and f.type == FrameType.TELEMETRY}),
    }


def start_mosquitto(workdir: Path) -> tuple[subprocess.Popen[bytes] | None, str]:
    """The machine's Mosquitto on 1883 if it runs, else a private one with the shipped settings."""
    if port_open(1883):
        return None, "mqtt://127.0.0.1:1883"
    proc, port = private_mosquitto(workdir)
    return proc, f"mqtt://127.0.0.1:{port}"


async def mqtt_latency(seconds: float, period_ms: int, broker_url: str) -> dict[str, Any]:
    """Firmware pty write -> supervisor -> bus bridge -> Mosquitto -> a subscriber's handler."""
    binary = FIRMWARE / "build" / "kit_host"
    room = f"bench-{os.getpid()}"
    master, slave = os.openpty()
    tty.setraw(slave)
    process = await asyncio.create_subprocess_exec(
        str(binary),
        "--kit",
        "vinaponics",
        "--id",
        "vina-bench",
        "--fd",
        str(master),
        "--stamp",
        "--telemetry-ms",
        str(period_ms),
        "--heartbeat-ms",
        "100",
        pass_fds=(master,),
    )
    wanted = int(seconds * 1000 / period_ms)
    samples: list[int] = []
    done = asyncio.Event()
    counting = False

    def on_message(message: Message) -> None:
        now_us = (time.monotonic_ns() // 1000) & 0x7FFFFFFF
        if not counting:
            return
        for reading in json.loads(message.payload)["readings"]:
            if reading["key"] == "tx_us":
                samples.append((now_us - int(reading["value"])) & 0x7FFFFFFF)
        if len(samples) >= wanted:
            done.set()

    def link(name: str) -> MqttLink:
        return MqttLink(broker_url, client_id=f"{name}-{os.getpid()}", clean_session=True, manual_ack=False)

    hub, probe = link("bench-bridge"), link("bench-probe")
    tasks = [asyncio.create_task(hub.run()), asyncio.create_task(probe.run())]
    bridge = BusBridge(hub, room)
    try:
        await hub.wait_up(5)
        await probe.wait_up(5)
        probe.subscribe(device_topic(room, "vina-bench", "telemetry"), on_message)
        async with KitSupervisor(bridge, fixed_ports(os.ttyname(slave)), device_id="vina-bench") as supervisor:
            await asyncio.wait_for(supervisor.wait_online(), 5)
            await asyncio.sleep(0.3)  # the subscription is in place, start-up jitter is past
            counting = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), seconds * 3)
            counting = False
            kit_link = supervisor.link
            missed = kit_link.counters["missed_frames"] if kit_link else -1
        published = bridge.counters["readings"]
    finally:
        await bridge.close()
        for mqtt in (hub, probe):
            await mqtt.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        process.terminate()
        await process.wait()
        os.close(master)
        os.close(slave)
    return {
        "samples": len(samples),
        "period_ms": period_ms,
        **{f"{k}_ms": v for k, v in summary([us / 1000 for us in samples], 3).items()},
        "missed_frames": missed,
        "readings_published": published,
    }


async def mqtt_hop_floor(seconds: float, period_ms: int, broker_url: str) -> dict[str, Any]:
    """Stamped messages from one MQTT link to a subscriber at the same period: the MQTT part alone."""
    room = f"bench-{os.getpid()}"
    topic = device_topic(room, "hop-bench", "telemetry")
    samples: list[float] = []

    def on_message(message: Message) -> None:
        now_us = (time.monotonic_ns() // 1000) & 0x7FFFFFFF
        samples.append(((now_us - int(json.loads(message.payload)["tx_us"])) & 0x7FFFFFFF) / 1000)

    def link(name: str) -> MqttLink:
        return MqttLink(broker_url, client_id=f"{name}-{os.getpid()}", clean_session=True, manual_ack=False)

    sender, probe = link("bench-hop"), link("bench-hop-probe")
    tasks = [asyncio.create_task(sender.run()), asyncio.create_task(probe.run())]
    try:
        await sender.wait_up(5)
        await probe.wait_up(5)
        probe.subscribe(topic, on_message)
        await asyncio.sleep(0.3)  # the subscription is in place
        for _ in range(int(seconds * 1000 / period_ms)):
            stamp = (time.monotonic_ns() // 1000) & 0x7FFFFFFF
            sender.publish(topic, json.dumps({"tx_us": stamp}), qos=1)
            await asyncio.sleep(period_ms / 1000)
        await asyncio.sleep(0.2)  # the last ones arrive
    finally:
        for mqtt in (sender, probe):
            await mqtt.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {"samples": len(samples), "period_ms": period_ms, **{f"{k}_ms": v for k, v in summary(samples, 3).items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4.0, help="latency run length")
    parser.add_argument("--period-ms", type=int, default=2, help="firmware telemetry period")
    parser.add_argument("--emulated-frames", type=int, default=1000, help="long frames to the emulated Uno (0: skip)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the issue asks
    subprocess.run(["make", "-s", "-C", str(FIRMWARE), "host"], check=True)
    if args.emulated_frames:
        subprocess.run(["make", "-s", "-C", str(FIRMWARE), "avr", "sim"], check=True, stdout=subprocess.DEVNULL)

    throughput = decoder_throughput()
    print(
        f"decoder: {throughput['frames_per_s']:,} frames/s = {throughput['bytes_per_s'] / 1e6:.1f} MB/s = "
        f"{throughput['line_rate_multiple']}x a 115200-baud line "
        f"({throughput['frames_per_s_with_tlv']:,} frames/s, {throughput['line_rate_multiple_with_tlv']}x "
        "with TLV decoding); floor, split + CRC in C: "
        f"{throughput['floor_frames_per_s']:,} frames/s"
    )
    latency = asyncio.run(telemetry_latency(args.seconds, args.period_ms))
    print(
        f"latency firmware pty write -> listener callback: p50 {latency['p50_ms']} ms, "
        f"p99 {latency['p99_ms']} ms, max {latency['max_ms']} ms over {latency['samples']} frames"
    )
    latency_floor = asyncio.run(telemetry_latency_floor(args.seconds, args.period_ms))
    print(f"floor, firmware pty write -> bare os.read: p50 {latency_floor['p50_ms']} ms, "
          f"p99 {latency_floor['p99_ms']} ms over {latency_floor['samples']} frames")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-serial-") as tmp:
        broker, url = start_mosquitto(Path(tmp))
        try:
            end_to_end = asyncio.run(mqtt_latency(args.seconds, max(args.period_ms, 5), url))
            hop = asyncio.run(mqtt_hop_floor(args.seconds, max(args.period_ms, 5), url))
        finally:
            if broker is not None:
                broker.terminate()
                broker.wait(10)
    print(
        f"latency firmware pty write -> MQTT subscriber (bridge + Mosquitto): p50 {end_to_end['p50_ms']} ms, "
        f"p99 {end_to_end['p99_ms']} ms, max {end_to_end['max_ms']} ms over {end_to_end['samples']} messages"
    )
    print(f"floor, MQTT hop alone (link -> Mosquitto -> subscriber): p50 {hop['p50_ms']} ms, "
          f"p99 {hop['p99_ms']} ms over {hop['samples']} messages")  # fmt: skip
    emulated = asyncio.run(emulated_uno(args.emulated_frames)) if args.emulated_frames else None
    if emulated is not None:
        emulated["short"]["board_clock"] = clock = asyncio.run(emulated_uno_board_clock(emulated["short"]["commands"]))
        long = emulated["long"]
        print(
            f"emulated Uno (robot_kit): {long['frames']} maximum-size commands, {long['lost']} lost, "
            f"{long['retransmits']} resent; round trip p50 {long['p50_ms']} ms, p99 {long['p99_ms']} ms "
            f"(line floor {long['floor_ms']} ms at 115200 8N1, {long['floor_emulated_ms']} ms on the emulated line; "
            f"target p99 <= {emulated['target_long_p99_ms']} ms); short command p50 {emulated['short']['p50_ms']} ms, "
            f"p99 {emulated['short']['p99_ms']} ms (floor {emulated['short']['floor_ms']} ms, "
            f"target p99 <= {emulated['target_short_p99_ms']} ms); "
            f"board loop max {emulated['board_loop_ms_measured']} ms"
        )
        board_ms, line_ms = clock["board_ms"], clock["round_trip_ms"]
        print(f"  on the board's clock, short command in -> ACK out: p50 {board_ms['p50']} ms, "
              f"p99 {board_ms['p99']} ms; with the command's line time p99 {line_ms['p99']} ms; "
              f"ACKs that waited behind a frame going out: {clock['behind_frame'] or 'none'} "
              f"(largest {clock['behind_frame_max_bytes']} B); "
              f"telemetry frames {clock['telemetry_frame_bytes']} B")  # fmt: skip
        if emulated["emulator_lag_ms"]:
            print(f"  the emulator fell {emulated['emulator_lag_ms']} ms behind the wall clock (a busy machine): "
                  "these round trips measure the machine, not the board")  # fmt: skip
    result = {
        "bench": "serial_bridge",
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "decoder": throughput,
        "latency": latency,
        "latency_floor": latency_floor,
        "latency_to_mqtt": end_to_end,
        "mqtt_hop_floor": hop,
        "emulated_uno": emulated,
        "targets": {"line_rate_multiple": 100, "p99_ms": 10, "mqtt_p99_ms": 10,
                    "emulated_lost": 0, "emulated_p99": "2 x line floor + stated loop time"},
        "percentiles": DEFINITION,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

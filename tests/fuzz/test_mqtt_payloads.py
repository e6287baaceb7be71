"""MQTT payloads: whatever a device (or a student holding a tablet's password) publishes.

Two levels. The payload models of classroom_hub/bus/payloads.py alone: every payload is
accepted or refused with a ``ValidationError`` whose one-line summary names the field, and
what they accept is standard JSON the hub can store, push and show. Then a running hub
(real Mosquitto, the display's simulator on TCP, a Vinaponics kit, a robot on a serial
port that is away): each message goes through the hub's own link callback to every part
that listens (ingest, registry, commands, lab, display driver, firmware bridge) and none
of them fails; afterwards the hub still stores a good reading, and the device list and the
lab page are still valid JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from classroom_hub.app import COMMANDS, INGEST, LINK, REGISTRY, REJECTIONS
from classroom_hub.bus.link import MqttLink
from classroom_hub.bus.payloads import COMMAND, EVENT, KEY_PATTERN, REPLY, STATUS, TELEMETRY
from classroom_hub.bus.topics import device_topic
from classroom_hub.errors import CommandError
from classroom_hub.problems import describe
from device_drivers.display.simulator import PanelState, PanelTcpServer, SimulatedPanel
from stem_labs.keys import LAB
from tests.conftest import RunningHub, room_settings, run_hub
from tests.fuzz.profile import counted, fuzz
from tests.fuzz.strategies import NASTY_TEXTS, NUMBERS, json_payloads, json_values

# --- valid messages, to mutate -------------------------------------------------------------

now = st.floats(1_700_000_000, 2_000_000_000)
small_text = st.one_of(st.text(max_size=20), st.sampled_from(NASTY_TEXTS[:20]))
sensor_keys = st.one_of(st.sampled_from(["ph", "water_temp", "do", "ec", "level", "battery", "distance"]),
                        st.from_regex(KEY_PATTERN, fullmatch=True))  # fmt: skip

statuses = st.fixed_dictionaries(
    {"state": st.sampled_from(["online", "offline"])},
    optional={
        "ts": now,
        "kind": st.sampled_from(["tablet", "headset", "sensor_node", "robot"]),
        "firmware": small_text,
        "battery": st.floats(0, 100),
        "charging": st.booleans(),
        "rssi": st.integers(-120, 0),
        "temperature": st.floats(-40, 120),
        "error": small_text,
        "outputs": st.lists(st.sampled_from(["pump", "aerator"]), max_size=2),
        "app": small_text,
        "volume": NUMBERS,  # extra fields: a display's, an agent's
        "scene": st.dictionaries(st.sampled_from(["id", "progress"]), NUMBERS, max_size=2),
    },
)
readings = st.fixed_dictionaries(
    {"key": sensor_keys, "value": st.floats(-1000, 1000)},
    optional={"unit": st.sampled_from(["pH", "°C", "%"]), "ts": now},
)
telemetries = st.fixed_dictionaries({"readings": st.lists(readings, min_size=1, max_size=4)}, optional={"ts": now})
events = st.fixed_dictionaries(
    {"type": st.sampled_from(["level_low", "level_low", "program_done", "console", "estop", "host_lost", "button"])},
    optional={
        "ts": now,
        "data": st.dictionaries(st.sampled_from(["level", "slot", "text", "code"]), st.one_of(NUMBERS, json_values(5))),
    },
)
replies = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=40), "ok": st.booleans()},
    optional={
        "result": st.dictionaries(st.text(max_size=8), st.one_of(NUMBERS, json_values(5))),
        "error": small_text,
        "ts": now,
    },
)


SESSION_START = time.time()  # commands expire relative to it: the same cases in every example


def _command(name: str, args: dict[str, Any], expires_in: float) -> dict[str, Any]:
    sent = SESSION_START
    return {"id": "c" * 8, "name": name, "args": args, "sent_at": sent, "expires_at": sent + expires_in}


commands = st.builds(
    _command,
    st.sampled_from(["power", "input", "volume", "mute", "status", "estop", "run", "stop", "set_output", "Power"]),
    st.one_of(
        st.sampled_from([{}, {"on": True}, {"source": "hdmi2"}, {"level": 30}, {"slot": 1}, {"output": "pump"}]),
        st.dictionaries(
            st.sampled_from(["on", "source", "level", "slot", "output", "x"]),
            st.one_of(NUMBERS, json_values(5)),
            max_size=3,
        ),
    ),
    st.sampled_from([3600.0, -10.0, 1e9]),
)

VALID: dict[str, tuple[TypeAdapter[Any], st.SearchStrategy[dict[str, Any]]]] = {
    "status": (STATUS, statuses),
    "telemetry": (TELEMETRY, telemetries),
    "event": (EVENT, events),
    "reply": (REPLY, replies),
    "cmd": (COMMAND, commands),
}


PAYLOADS = {channel: json_payloads(valid) for channel, (_, valid) in VALID.items()}


def strict_json(value: Any) -> str:
    """What the hub does with a value it keeps: json.dumps; NaN or Infinity would not be JSON."""
    return json.dumps(value, allow_nan=False, ensure_ascii=False)


# --- the payload models ---------------------------------------------------------------------


@pytest.mark.parametrize("channel", sorted(VALID))
@fuzz(ci=250)
@given(data=st.data())
@counted("MQTT payload models")
def test_a_payload_is_accepted_as_json_or_refused_naming_the_field(channel: str, data: st.DataObject) -> None:
    adapter, _ = VALID[channel]
    payload = data.draw(PAYLOADS[channel], label="payload")
    try:
        model = adapter.validate_json(payload)
    except ValidationError as err:
        problem = describe(err, root="payload", limit=1)
        where, _, what = problem.partition(": ")
        assert "\n" not in problem and where and what, problem
        return
    # Accepted: stored (ingest), pushed to the centre (jsonb) and shown on pages as JSON.
    strict_json(model.model_dump(mode="python"))
    for text in _strings(model.model_dump(mode="python")):
        text.encode("utf-8")


@pytest.mark.parametrize(
    "payload",
    [
        b'{"type": "level_low", "data": {"level": NaN}}',
        b'{"type": "level_low", "data": {"level": 1' + b"0" * 400 + b"}}",
        b'{"type": "button", "data": {"x": [Infinity]}}',
    ],
)
def test_an_event_with_a_number_json_does_not_have_is_refused(payload: bytes) -> None:
    with pytest.raises(ValidationError) as caught:
        EVENT.validate_json(payload)
    problem = describe(caught.value, root="payload", limit=1)
    assert problem.startswith("data"), problem


def test_a_status_with_nan_in_an_extra_field_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        STATUS.validate_json(b'{"state": "online", "volume": NaN}')
    assert describe(caught.value, root="payload", limit=1) == "volume: nan is not a number JSON allows"


def test_a_field_name_with_a_line_break_stays_on_one_line() -> None:
    with pytest.raises(ValidationError) as caught:
        COMMAND.validate_json(b'{"name": "power", "expires_at": 4000000000, "\\n\\u001b[2J": 1}')
    assert describe(caught.value, root="payload", limit=1) == "\\n\\x1b[2J: Extra inputs are not permitted"


def test_a_command_that_never_expires_is_refused() -> None:
    for bad in (b"Infinity", b"NaN", b"1e400"):
        with pytest.raises(ValidationError) as caught:
            COMMAND.validate_json(b'{"name": "estop", "sent_at": 1800000000, "expires_at": ' + bad + b"}")
        assert describe(caught.value, root="payload", limit=1).startswith("expires_at: ")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


# --- the running hub ------------------------------------------------------------------------

DEVICES: list[dict[str, Any]] = [
    {"kind": "tablet", "id": "T{:02d}", "count": 2},
    {"kind": "headset", "id": "H01"},
    {"kind": "sensor_node", "id": "vinaponics-1", "sensors": ["ph", "water_temp", "level"]},
    {"kind": "actuator", "id": "vinaponics-1-out", "outputs": ["pump", "aerator"]},
    {"kind": "robot", "id": "robot-1"},  # its serial port is set per test: a board that is away
    {"kind": "display", "id": "display-86", "timeout_s": 0.5, "poll_interval_s": 5},
]
KNOWN = ["T01", "H01", "vinaponics-1", "vinaponics-1-out", "robot-1", "display-86"]
CHANNELS = ["status", "telemetry", "event", "reply", "cmd"]


class ErrorLog(logging.Handler):
    """Every ERROR (or worse) logged while the hub runs: a failed handler, a task that died."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class FuzzedHub:
    hub: RunningHub
    room: str
    errors: ErrorLog

    @property
    def link(self) -> MqttLink:
        return self.hub.app[LINK]

    def deliver(self, topic: str, payload: bytes) -> None:
        """Hand a message to the hub exactly as paho does when the broker delivers one."""
        message = paho.MQTTMessage(topic=topic.encode("utf-8"))
        message.payload = payload
        message.qos = 0  # no PUBACK for a message the broker never sent
        client = self.link._client
        assert client.on_message is not None
        client.on_message(client, None, message)


@pytest.fixture
async def fuzzed_hub(tmp_path: Path, system_mosquitto_url: str) -> AsyncIterator[FuzzedHub]:
    devices = [dict(d) for d in DEVICES]
    devices[4]["transport"] = {"type": "serial", "port": str(tmp_path / "robot-1-unplugged")}
    panel = SimulatedPanel("samsung_mdc", display_id=1, state=PanelState(power=True, input="hdmi1", volume=20))
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    try:
        async with PanelTcpServer(panel) as server:
            devices[5]["transport"] = {"type": "tcp", "host": "127.0.0.1", "port": server.port}
            settings = room_settings(tmp_path, system_mosquitto_url, devices=devices)
            async with run_hub(settings) as hub:
                yield FuzzedHub(hub, settings.room.id, errors)
    finally:
        logging.getLogger().removeHandler(errors)


# The broker refuses topics with wildcards or U+0000 (MQTT 3.1.1 section 4.7.3), so "+" in a
# drawn topic stands for the room's id.
LEVEL = st.text(st.characters(exclude_characters="/+#\x00", exclude_categories=["Cs"]), max_size=20)
DEVICE_IDS = st.one_of(st.sampled_from(KNOWN), st.sampled_from(KNOWN), st.sampled_from(KNOWN), LEVEL.filter(bool))


@st.composite
def bus_messages(draw: st.DrawFn, channel: str) -> tuple[str, bytes]:
    """A message on ``channel`` of a device of the room (mostly) or of a device it does not know;
    ``elsewhere``: any other topic under the room, and Home Assistant's status."""
    if channel == "elsewhere":
        parts = draw(st.lists(LEVEL, min_size=1, max_size=7))
        topic = draw(st.sampled_from(["/".join(["classroom", "+", *parts]), "homeassistant/status"]))
        return topic, draw(PAYLOADS[draw(st.sampled_from(CHANNELS))])
    return device_topic("+", draw(DEVICE_IDS), channel), draw(PAYLOADS[channel])  # type: ignore[arg-type]


@pytest.mark.parametrize("channel", [*CHANNELS, "elsewhere"])
@fuzz(ci=200)
@given(message=st.data())
@counted("MQTT payloads through the hub")
async def test_every_part_of_the_hub_takes_any_message(
    fuzzed_hub: FuzzedHub, channel: str, message: st.DataObject
) -> None:
    hub = fuzzed_hub
    topic, payload = message.draw(bus_messages(channel), label="message")
    registry = hub.hub.app[REGISTRY]
    # Each case starts from the same devices, so a failure belongs to the message that caused it.
    saved = {record.id: copy.deepcopy(vars(record)) for record in registry.all()}
    try:
        await _deliver_and_check(hub, topic.replace("+", hub.room, 1), payload)
    finally:
        for record in registry.all():
            vars(record).update(saved[record.id])


async def _deliver_and_check(hub: FuzzedHub, topic: str, payload: bytes) -> None:
    failures = hub.link.stats.handler_errors
    before = asyncio.all_tasks()
    hub.deliver(topic, payload)
    await asyncio.sleep(0)
    started = asyncio.all_tasks() - before  # a command answered for the display or the robot
    if started:
        _, pending = await asyncio.wait(started, timeout=10)
        assert not pending, f"still running 10 s after {topic}: {pending}"
    assert hub.link.stats.handler_errors == failures, [r.getMessage() for r in hub.errors.records]
    assert not hub.errors.records, [f"{r.getMessage()} {r.exc_text or ''}" for r in hub.errors.records]

    # The hub still stores a good reading, and what the pages show is still JSON.
    ingest, registry = hub.hub.app[INGEST], hub.hub.app[REGISTRY]
    accepted = ingest.accepted
    good = {"ts": time.time(), "readings": [{"key": "ph", "value": 6.8, "unit": "pH"}]}
    hub.deliver(device_topic(hub.room, "vinaponics-1", "telemetry"), json.dumps(good).encode())
    assert ingest.accepted == accepted + 1
    strict_json([record.as_dict() for record in registry.all()])
    strict_json(hub.hub.app[LAB].snapshot())


# Cases the fuzzing found, kept: each crashed or poisoned the hub before its fix (payloads.py).
FOUND = [
    # The lab turned the level of a low-water event into a float: OverflowError in the handler.
    ("classroom/+/devices/vinaponics-1/event", b'{"type": "level_low", "data": {"level": 1' + b"0" * 400 + b"}}"),
    # NaN kept in the device list: /api/devices no longer JSON, the technician's page blank.
    ("classroom/+/devices/T01/status", b'{"state": "online", "ts": 1700000000.0, "scene": {"id": NaN}}'),
    # NaN stored as event data: not JSON for the central database.
    ("classroom/+/devices/H01/event", b'{"type": "app_crash", "data": {"memory": Infinity}}'),
    # A command that never expires, to the display's driver and to the robot's bridge.
    ("classroom/+/devices/display-86/cmd", b'{"name": "power", "args": {"on": true}, "expires_at": NaN}'),
    ("classroom/+/devices/robot-1/cmd", b'{"name": "stop", "args": {"speed": NaN}, "expires_at": 4000000000}'),
]


@contextlib.asynccontextmanager
async def tablet_receiving_commands(url: str, room: str) -> AsyncIterator[asyncio.Queue[bytes]]:
    """Tablet T01 on the real broker: what the hub commands it arrives in the queue."""
    commands: asyncio.Queue[bytes] = asyncio.Queue()
    link = MqttLink(url, client_id=f"fuzz-T01-{room}", clean_session=True, manual_ack=False)
    link.subscribe(device_topic(room, "T01", "cmd"), lambda message: commands.put_nowait(message.payload))
    task = asyncio.create_task(link.run())
    try:
        await link.wait_up(5)
        yield commands
    finally:
        await link.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _with_id(payload: bytes, command_id: str) -> bytes:
    """The fuzzed reply, answering the command in flight when it is a JSON object."""
    try:
        reply = json.loads(payload)
    except (ValueError, RecursionError):
        return payload
    if not isinstance(reply, dict):
        return payload
    return json.dumps({**reply, "id": command_id}).encode()


@fuzz(ci=150)
@given(reply=PAYLOADS["reply"], sender=st.sampled_from(["T01", "T01", "T02", "robot-1"]), answers=st.booleans())
@counted("MQTT command replies")
async def test_a_command_ends_with_its_reply_or_a_command_error_whatever_comes_back(
    fuzzed_hub: FuzzedHub, system_mosquitto_url: str, reply: bytes, sender: str, answers: bool
) -> None:
    hub = fuzzed_hub
    async with tablet_receiving_commands(system_mosquitto_url, hub.room) as received:
        sending = asyncio.create_task(hub.hub.app[COMMANDS].send("T01", "ping", {"n": 1}, timeout=3))
        async with asyncio.timeout(5):
            command = COMMAND.validate_json(await received.get())
        hub.deliver(device_topic(hub.room, sender, "reply"), _with_id(reply, command.id) if answers else reply)
        if not sending.done():
            hub.deliver(device_topic(hub.room, "T01", "reply"), json.dumps({"id": command.id, "ok": True}).encode())
        try:
            async with asyncio.timeout(5):
                answer = await sending
        except CommandError:
            pass  # the device said no (ok: false): the caller hears it as a command error
        else:
            assert answer.id == command.id
    assert not hub.errors.records, [r.getMessage() for r in hub.errors.records]


@pytest.mark.parametrize(("topic", "payload"), FOUND)
async def test_messages_that_once_broke_the_hub(fuzzed_hub: FuzzedHub, topic: str, payload: bytes) -> None:
    await _deliver_and_check(fuzzed_hub, topic.replace("+", fuzzed_hub.room, 1), payload)
    assert fuzzed_hub.hub.app[REJECTIONS].total >= 1  # refused, and the technician can see why

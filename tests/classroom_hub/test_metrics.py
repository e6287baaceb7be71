"""``/metrics`` in the Prometheus text format, scraped from a hub with real devices and bad input.

The parser follows https://prometheus.io/docs/instrumenting/exposition_formats/ (text format
0.0.4): every sample belongs to a family announced by ``# HELP`` and ``# TYPE``, metric and
label names match the documented patterns, histogram buckets are cumulative and end in
``+Inf`` equal to ``_count``.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import aiohttp

from classroom_hub.app import LINK, REGISTRY, REJECTIONS, STORE
from classroom_hub.bus.topics import device_topic
from classroom_hub.fleet.keys import FLEET
from classroom_hub.metrics import Exposition
from device_drivers.display.simulator import PanelTcpServer, SimulatedPanel
from device_drivers.headset.fleet import HeadsetFleet
from tests.conftest import room_settings, run_hub, wait_for

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> tuple[dict[str, str], Samples]:
    """Family types and samples; AssertionError on anything the format does not allow."""
    assert text.endswith("\n")
    types: dict[str, str] = {}
    helps: set[str] = set()
    samples: Samples = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert NAME.match(name) and name not in helps, line
            helps.add(name)
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name in helps and name not in types and kind in ("counter", "gauge", "histogram"), line
            types[name] = kind
        else:
            match = SAMPLE.match(line)
            assert match is not None, f"not a sample line: {line!r}"
            name, raw = match["name"], match["labels"] or ""
            labels = LABEL.findall(raw)
            assert "".join(f'{k}="{v}",' for k, v in labels).rstrip(",") == raw, line
            family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
            assert family in types, f"sample {name} before its # TYPE"
            value = float(match["value"])
            assert not math.isnan(value), line
            key = (name, frozenset(labels))
            assert key not in samples, f"duplicate sample {line}"
            samples[key] = value
    for family, kind in types.items():
        if kind == "histogram":
            _check_histogram(family, samples)
    return types, samples


def _check_histogram(family: str, samples: Samples) -> None:
    series: dict[frozenset[tuple[str, str]], list[tuple[float, float]]] = {}
    for (name, labels), value in samples.items():
        if name == f"{family}_bucket":
            le = dict(labels)["le"]
            rest = frozenset((k, v) for k, v in labels if k != "le")
            series.setdefault(rest, []).append((float(le), value))
    for rest, buckets in series.items():
        buckets.sort()
        counts = [c for _le, c in buckets]
        assert counts == sorted(counts), f"{family} buckets are not cumulative"
        assert buckets[-1][0] == math.inf
        assert buckets[-1][1] == samples[(f"{family}_count", rest)]
        assert (f"{family}_sum", rest) in samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(f"classroom_hub_{name}", frozenset(labels.items()))]


def test_label_values_are_escaped() -> None:
    out = Exposition()
    out.add("odd", "gauge", "Odd labels.", [({"detail": 'say "hi"\\now\n'}, 1)])
    _, samples = parse(out.render())
    assert samples[("classroom_hub_odd", frozenset({("detail", 'say \\"hi\\"\\\\now\\n')}))] == 1


async def test_metrics_of_a_room_with_traffic_and_bad_input(tmp_path: Path, system_mosquitto_url: str) -> None:
    url = system_mosquitto_url
    async with PanelTcpServer(SimulatedPanel("samsung_mdc")) as panel:
        devices = [
            {"kind": "headset", "id": "H{:02d}", "count": 3},
            {"kind": "display", "id": "display-86", "poll_interval_s": 0.2,
             "transport": {"type": "tcp", "host": "127.0.0.1", "port": panel.port}},
        ]  # fmt: skip
        settings = room_settings(tmp_path, url, devices=devices)
        room = settings.room.id
        async with run_hub(settings) as hub, HeadsetFleet(url, room, count=2) as headsets:
            registry, link = hub.app[REGISTRY], hub.app[LINK]
            await wait_for(lambda: registry.counts()["headset"]["online"] == 2)
            await wait_for(lambda: registry.counts()["display"]["online"] == 1)
            # Impossible and unknown input, published by a misbehaving agent.
            link.publish(device_topic(room, "H03", "status"), json.dumps({"state": "online", "battery": 140}))
            link.publish(device_topic(room, "H42", "status"), json.dumps({"state": "online"}))
            await hub.app[FLEET].commands.send_group(["H01", "H02", "H03", "display-86"], "status")
            await wait_for(lambda: sum(hub.app[FLEET].commands.results.values()) == 4)
            # The bad input travels through the broker on its own, not before the replies.
            rejected = hub.app[REJECTIONS].by_reason
            await wait_for(lambda: rejected["malformed_status"] == 1 and rejected["unknown_device"] == 1)
            await hub.app[STORE].flush()  # the state changes, counted by store_rows
            async with aiohttp.ClientSession() as client, client.get(f"{hub.url}/metrics") as response:
                assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
                text = await response.text()
            del headsets

    types, samples = parse(text)
    assert types["classroom_hub_command_latency_seconds"] == "histogram"
    assert types["classroom_hub_rejected_total"] == "counter"
    assert types["classroom_hub_push_queue_depth"] == "gauge"  # the pusher's figures are there too
    assert value(samples, "devices", kind="headset", state="online") == 2
    assert value(samples, "devices", kind="headset", state="unknown") == 1
    assert value(samples, "devices", kind="display", state="online") == 1
    assert 0 < value(samples, "device_battery_percent", device="H01", kind="headset") <= 100
    assert ("classroom_hub_device_battery_percent", frozenset({("device", "H03"), ("kind", "headset")})) not in samples
    assert value(samples, "rejected_total", reason="malformed_status") == 1  # battery 140 %
    assert value(samples, "rejected_total", reason="unknown_device") == 1  # H42
    assert value(samples, "unknown_devices") == 1
    # H01 and H02 answered over MQTT; the display directly; H03 was never online.
    assert value(samples, "command_latency_seconds_count", route="mqtt") == 2
    assert value(samples, "command_latency_seconds_count", route="direct") == 1
    assert value(samples, "command_results_total", outcome="ok") == 3
    assert value(samples, "command_results_total", outcome="offline") == 1
    assert value(samples, "mqtt_messages_received_total") > 0
    assert value(samples, "mqtt_messages_published_total") > 0
    assert value(samples, "store_rows", stream="device_events") > 0
    assert value(samples, "driver_connected", device="display-86") == 1
    assert value(samples, "driver_commands_total", device="display-86", result="ok") >= 2
    assert value(samples, "part_up", part="fleet") == 1

"""How fast the hub durably stores sensor readings from MQTT, against a bare paho subscriber.

    python bench/ingest.py [--n 200000] [--per-message 1]

Runs a private Mosquitto with the shipped settings (config/mosquitto/classroom-hub.conf).
Both consumers are measured the same way, on the same broker and QoS 1: a publisher
process queues N readings while the consumer is away (its persistent session keeps
them), then the consumer comes back and drains the queue:

- floor: a bare paho subscriber that only counts messages;
- hub:   `classroom-hub run` in its own process, counted as readings *committed* to its
         SQLite store (with the shipped durability, synchronous=FULL unless the room file
         says otherwise: printed as store_synchronous), read from the database file.

Then a live run: the hub connected while the publisher sends at full speed.

``lost`` is N minus the distinct readings in the store. Duplicates cannot be counted in the
table (its unique key drops a redelivered reading), so ``duplicates_received`` is the hub's
own count of readings it received again and ignored, read from its /metrics
(store_duplicates_ignored_total) before it stops, beside its count of MQTT messages received.
Beside the rates, the CPU time per reading of each consumer's process over the same span
(first message or commit to the last), which a busy machine moves less than wall time.
Prints one JSON line last: readings_per_s, lost, duplicates_received, broker_floor_per_s,
ratio, hub_cpu_us_per_reading, floor_cpu_us_per_reading, and details.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from broker import free_port, private_mosquitto

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ROOM = "bench"
# sensor_node: a Vinaponics kit, whose every reading the lab also evaluates (alarms, safety,
# experiments); teacher_laptop: the ingest path alone (store, registry, acks). --device-kind picks.
DEVICE_KIND = "sensor_node"
TOPIC = f"classroom/{ROOM}/devices/node-1/telemetry"


def start_mosquitto(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    return private_mosquitto(workdir)


def payload(i: int, per_message: int) -> bytes:
    base = 1_800_000_000.0 + i * per_message * 0.001
    readings = [
        {"key": "ph", "value": 6.5 + (i % 100) / 100, "unit": "pH", "ts": base + k * 0.001} for k in range(per_message)
    ]
    return json.dumps({"readings": readings}).encode()


def publisher(port: int, n_messages: int, per_message: int, done: Any) -> None:
    """A separate process: publish QoS-1 messages as fast as the broker takes them."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{os.getpid()}")
    client.max_inflight_messages_set(1000)
    confirmed = [0]  # PUBACKs from the broker (paho's network thread counts, this one reads)

    def on_publish(*_: Any) -> None:
        confirmed[0] += 1

    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.time()
    for i in range(n_messages):
        # Message ids wrap at 65,535: keep fewer than that unconfirmed.
        while i - confirmed[0] > 30_000:
            time.sleep(0.001)
        client.publish(TOPIC, payload(i, per_message), qos=1)
    while confirmed[0] < n_messages:  # every message confirmed by the broker
        time.sleep(0.01)
    done.put((started, time.time()))
    client.disconnect()
    client.loop_stop()


def floor_subscriber(port: int, n_messages: int, phase: str, result: Any) -> None:
    """A bare paho subscriber, the floor: it only counts what arrives."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    state = {"count": 0, "first": 0.0, "last": 0.0, "connected": 0.0, "cpu_first": 0.0, "cpu_last": 0.0}
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-floor", clean_session=False)
    client.max_inflight_messages_set(1000)

    def on_connect(c: Any, *_: Any) -> None:
        state["connected"] = time.time()
        c.subscribe(TOPIC, qos=1)

    def on_message(c: Any, _u: Any, _m: Any) -> None:
        state["count"] += 1
        if state["count"] == 1:
            state["first"], state["cpu_first"] = time.time(), time.process_time()
        if state["count"] >= n_messages:
            state["last"], state["cpu_last"] = time.time(), time.process_time()
            c.disconnect()

    client.on_connect = on_connect
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    if phase == "subscribe":
        client.loop_start()
        time.sleep(0.5)
        client.disconnect()
        client.loop_stop()
        result.put(None)
        return
    client.loop_forever()
    result.put(state)


def run_floor(port: int, n_messages: int, per_message: int) -> dict[str, float]:
    q: Any = mp.Queue()
    p = mp.Process(target=floor_subscriber, args=(port, n_messages, "subscribe", q))
    p.start()
    q.get()
    p.join()
    pub_q: Any = mp.Queue()
    pub = mp.Process(target=publisher, args=(port, n_messages, per_message, pub_q))
    pub.start()
    pub_q.get()
    pub.join()
    p = mp.Process(target=floor_subscriber, args=(port, n_messages, "drain", q))
    p.start()
    state = q.get(timeout=600)
    p.join()
    # From the first message to the last, like the hub's figure (from its first commit).
    elapsed = state["last"] - state["first"]
    cpu_us = (state["cpu_last"] - state["cpu_first"]) * 1e6 / ((n_messages - 1) * per_message)
    return {"per_s": (n_messages - 1) * per_message / elapsed, "seconds": elapsed, "cpu_us_per_reading": cpu_us}


def write_room(workdir: Path, port: int, http_port: int) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    room = workdir / "room.toml"
    room.write_text(
        f"""
data_dir = "{workdir / "hub"}"
[room]
school_code = "BENCH"
id = "{ROOM}"
name = "bench"
kind = "classroom"
[mqtt]
url = "mqtt://127.0.0.1:{port}"
client_id = "bench-hub"
[http]
host = "127.0.0.1"
port = {http_port}
[[devices]]
kind = "{DEVICE_KIND}"
id = "node-1"
"""
    )
    return room


def store_synchronous(room: Path) -> str:
    """What the hub's store runs with for this room file (which leaves it at the shipped default)."""
    from config.loader import load_settings

    return load_settings(room).store.synchronous


def spawn_hub(room: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "classroom_hub.cli", "run", "-c", str(room), "--log-level", "warning"],
        cwd=ROOT,
    )


def start_hub(room: Path, http_port: int) -> subprocess.Popen[bytes]:
    hub = spawn_hub(room)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return hub
        except OSError:
            pass
        time.sleep(0.05)
    hub.kill()
    raise SystemExit("the hub did not become healthy")


def stop_hub(hub: subprocess.Popen[bytes]) -> None:
    hub.send_signal(signal.SIGTERM)
    hub.wait(60)


def stored(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as c:
            return int(c.execute("SELECT count(*) FROM readings").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet: the hub is starting
        return 0


def hub_counters(http_port: int) -> dict[str, int]:
    """The hub's own counts from its /metrics: what it received and what it ignored as already stored."""
    wanted = {
        "classroom_hub_mqtt_messages_received_total": "mqtt_received",
        "classroom_hub_store_duplicates_ignored_total": "duplicates_ignored",
        "classroom_hub_rejected_total": "rejected",
    }
    counts = dict.fromkeys(wanted.values(), 0)
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=30) as r:
        for line in r.read().decode().splitlines():
            name = line.split("{", 1)[0].split(" ", 1)[0]  # a sample: name{labels} value, or name value
            if name in wanted:
                counts[wanted[name]] += int(float(line.rsplit(" ", 1)[1]))
    return counts


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    """The process's CPU time so far (user + system, all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def watch_store(db: Path, before: int, target: int, timeout: float, pid: int) -> dict[str, Any]:
    """Poll the store until ``target`` rows: when it first grew (rows, the hub's CPU then) and when done."""
    seen: dict[str, Any] = {"first": 0.0, "first_count": before, "cpu_first": 0.0}
    deadline = time.monotonic() + timeout
    count = before
    while time.monotonic() < deadline:
        count = stored(db)
        now = time.time()
        if count > before and not seen["first"]:
            seen |= {"first": now, "first_count": count, "cpu_first": cpu_s(pid)}
        if count >= target:
            break
        time.sleep(0.005)
    return seen | {"done": time.time(), "count": count, "cpu_done": cpu_s(pid)}


def run_hub_drain(workdir: Path, port: int, n_messages: int, per_message: int) -> dict[str, Any]:
    http_port = free_port()
    room = write_room(workdir, port, http_port)
    db = workdir / "hub" / "telemetry.db"
    synchronous = store_synchronous(room)
    hub = start_hub(room, http_port)  # creates the hub's persistent session and subscriptions
    stop_hub(hub)
    before = stored(db)
    pub_q: Any = mp.Queue()
    pub = mp.Process(target=publisher, args=(port, n_messages, per_message, pub_q))
    pub.start()
    pub_q.get()
    pub.join()
    started = time.time()
    # Watched from the moment the process starts: the hub may be done before it answers /healthz.
    hub = spawn_hub(room)
    seen = watch_store(db, before, before + n_messages * per_message, timeout=900, pid=hub.pid)
    first, first_count, done, count = seen["first"], seen["first_count"], seen["done"], seen["count"]
    peak = rss_mb(hub.pid)
    counters = hub_counters(http_port)
    stop_hub(hub)
    # The rate counts from the first committed batch (and not its rows): start-up is not ingest.
    elapsed = done - first
    return {
        "per_s": (count - first_count) / elapsed if elapsed > 0 else 0.0,
        "seconds": elapsed,
        "startup_s": first - started,
        "cpu_us_per_reading": (seen["cpu_done"] - seen["cpu_first"]) * 1e6 / max(1, count - first_count),
        "stored": count - before,
        "hub_peak_rss_mb": round(peak, 1),
        "store_synchronous": synchronous,
        **counters,
    }


def run_hub_live(workdir: Path, port: int, n_messages: int, per_message: int) -> dict[str, Any]:
    http_port = free_port()
    room = write_room(workdir, port, http_port)
    db = workdir / "hub" / "telemetry.db"
    hub = start_hub(room, http_port)
    before = stored(db)
    pub_q: Any = mp.Queue()
    pub = mp.Process(target=publisher, args=(port, n_messages, per_message, pub_q))
    pub.start()
    seen = watch_store(db, before, before + n_messages * per_message, timeout=900, pid=hub.pid)
    done, count = seen["done"], seen["count"]
    pub_started, pub_done = pub_q.get()
    pub.join()
    counters = hub_counters(http_port)
    stop_hub(hub)
    return {
        "per_s": (count - before) / (done - pub_started),
        "publisher_per_s": n_messages * per_message / (pub_done - pub_started),
        "stored": count - before,
        **counters,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000, help="readings in all")
    parser.add_argument("--per-message", type=int, default=1, help="readings batched in one MQTT message")
    parser.add_argument("--device-kind", default="sensor_node", choices=["sensor_node", "teacher_laptop"])
    args = parser.parse_args()
    global DEVICE_KIND
    DEVICE_KIND = args.device_kind
    n_messages = args.n // args.per_message
    n = n_messages * args.per_message
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        workdir = Path(tmp)
        broker, port = start_mosquitto(workdir)
        try:
            floor = run_floor(port, n_messages, args.per_message)
            print(f"floor: {floor['per_s']:,.0f} readings/s", file=sys.stderr)
            drain = run_hub_drain(workdir / "drain", port, n_messages, args.per_message)
            print(f"hub drain: {drain['per_s']:,.0f} readings/s, {drain['stored']:,} stored, "
                  f"{drain['duplicates_ignored']:,} duplicates received and ignored", file=sys.stderr)
            live = run_hub_live(workdir / "live", port, n_messages, args.per_message)
            print(f"hub live: {live['per_s']:,.0f} readings/s", file=sys.stderr)
        finally:
            broker.terminate()
            broker.wait(10)
    result = {
        "readings": n,
        "per_message": args.per_message,
        "readings_per_s": round(drain["per_s"]),
        "lost": n - drain["stored"],
        # Redeliveries the hub received and ignored as already stored: its own count (/metrics,
        # store_duplicates_ignored_total). The store's unique key keeps them out of the table,
        # so counting rows could never show one.
        "duplicates_received": drain["duplicates_ignored"],
        "hub_mqtt_received": drain["mqtt_received"],
        "rejected": drain["rejected"],
        "broker_floor_per_s": round(floor["per_s"]),
        "ratio": round(drain["per_s"] / floor["per_s"], 3),
        # CPU time per reading, the hub's process against the floor's: less moved by a busy machine.
        "hub_cpu_us_per_reading": round(drain["cpu_us_per_reading"], 1),
        "floor_cpu_us_per_reading": round(floor["cpu_us_per_reading"], 1),
        "hub_startup_s": round(drain["startup_s"], 2),
        "hub_peak_rss_mb": drain["hub_peak_rss_mb"],
        "live_readings_per_s": round(live["per_s"]),
        "live_publisher_per_s": round(live["publisher_per_s"]),
        "live_lost": n - live["stored"],
        "live_duplicates_received": live["duplicates_ignored"],
        "live_rejected": live["rejected"],
        "store_synchronous": drain["store_synchronous"],
        "device_kind": args.device_kind,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

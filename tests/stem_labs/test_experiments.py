"""Experiment runs: a condition-triggered run with its pre-trigger buffer from the firmware node,
stop after a time, annotations, statistics and a linear fit, CSV, the xAPI statement, the data
share that tablets read without an account, and runs kept apart for an overlay."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import aiohttp
import pytest

from classroom_hub.app import STORE
from stem_labs.analysis import series_stats
from stem_labs.conditions import parse_condition
from stem_labs.errors import ConditionError
from tests.conftest import wait_for


def test_linear_fit_and_statistics_against_known_values() -> None:
    line = [(t, 2.0 + 0.5 * t) for t in range(5)]
    stats = series_stats("x", line)
    assert (stats.n, stats.min, stats.max, stats.mean) == (5, 2.0, 4.0, 3.0)
    assert stats.slope == pytest.approx(0.5) and stats.intercept == pytest.approx(2.0) and stats.r2 == pytest.approx(1)
    # Anscombe's first quartet: slope 0.5001, intercept 3.0001, r² 0.6665 (Anscombe 1973).
    x = [10, 8, 13, 9, 11, 14, 6, 4, 12, 7, 5]
    y = [8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68]
    stats = series_stats("y", list(zip(x, y, strict=True)))
    assert stats.slope == pytest.approx(0.5001, abs=1e-4) and stats.intercept == pytest.approx(3.0001, abs=1e-4)
    assert stats.r2 == pytest.approx(0.6665, abs=1e-4) and stats.mean == pytest.approx(7.5009, abs=1e-4)
    assert series_stats("z", [(1.0, 3.0)]).slope is None and series_stats("z", []).n == 0


def test_conditions_as_a_teacher_types_them() -> None:
    assert str(parse_condition("pH < 6,5")) == "ph < 6.5"
    assert parse_condition(" DO >= 7 ").holds({"do": 7.0})
    assert not parse_condition("water_temp > 30").holds({"ph": 31.0})
    with pytest.raises(ConditionError, match="no sensor 'acid'"):
        parse_condition("acid < 3")
    with pytest.raises(ConditionError, match="write it like"):
        parse_condition("ph is low")


@pytest.mark.mosquitto
async def test_a_run_triggered_by_a_condition_keeps_its_pre_trigger_buffer(lab_room) -> None:
    async with await lab_room() as room:
        await room.online("vina-1")
        teacher = await room.login("teacher", "co.lan")
        room.node.pin("ph", 6.8)
        room.node.pin("water_temp", 24.0)
        await room.kit_value("ph", lambda v: v == pytest.approx(6.8, abs=1e-4))  # the pinned value, not a drifting one
        plan = {"name": "Axit hóa nước", "kit_id": "vina-1", "sensors": ["ph", "water_temp"], "sample_rate_hz": 5,
                "start_condition": "pH < 6.5", "pretrigger_s": 1.0, "duration_s": 1.0}  # fmt: skip
        async with teacher.post("/api/lab/runs", json=plan) as response:
            assert response.status == 201, await response.text()
            run_id = (await response.json())["id"]
        run = room.lab.experiments.get(run_id)
        assert run.state == "armed"
        await wait_for(lambda: len(run.buffer) == 5, timeout=3)  # a full second of pH 6.8 waiting
        assert run.samples == []

        room.node.pin("ph", 6.3)
        await wait_for(lambda: run.state == "stopped", timeout=4)
        assert run.stop_reason == "duration"
        points = run.series("ph")
        before = [(t, v) for t, v in points if t < 0]
        after = [(t, v) for t, v in points if t >= 0]
        assert 3 <= len(before) <= 5 and all(-1.0 <= t < 0 and v == pytest.approx(6.8) for t, v in before)
        assert after[0][0] == 0 and after[0][1] == pytest.approx(6.3)  # the trigger is t = 0
        assert 3 <= len(after) <= 6 and after[-1][0] <= 1.0
        assert all(v == pytest.approx(6.3) for _, v in after)

        async with teacher.post(f"/api/lab/runs/{run_id}/annotations", json={"t": 0.0, "text": "thêm giấm"}) as r:
            assert r.status == 201
        async with teacher.get(f"/api/lab/runs/{run_id}/stats", params={"from": "0", "to": "2"}) as r:
            stats = (await r.json())["stats"]
        assert stats["ph"]["mean"] == pytest.approx(6.3) and stats["ph"]["n"] == len(after)
        assert stats["ph"]["slope"] == pytest.approx(0.0, abs=1e-6)
        assert stats["water_temp"]["min"] == stats["water_temp"]["max"] == pytest.approx(24.0)

        # CSV: one column per sensor, units in the header, ISO timestamps; the note on its sample.
        async with teacher.get(f"/api/lab/runs/{run_id}/csv") as r:
            assert r.headers["Content-Type"].startswith("text/csv")
            rows = list(csv.reader(io.StringIO(await r.text())))
        assert rows[0] == ["timestamp", "t (s)", "ph (pH)", "water_temp (°C)", "note"]
        assert len(rows) == 1 + len(run.samples)
        first = datetime.fromisoformat(rows[1][0])
        assert first.tzinfo is not None and abs(first.timestamp() - run.samples[0][0]) < 0.001
        assert float(rows[1][1]) < 0 and rows[1][2] == "6.800" and rows[1][3] == "24.00"
        trigger_row = next(row for row in rows[1:] if float(row[1]) == 0)
        assert trigger_row[2] == "6.300" and trigger_row[4] == "thêm giấm"

        # The run ended as an xAPI statement with its summary.
        store = room.hub.app[STORE]
        await store.flush()
        statements = [json.loads(row[3]) for row in await store.read_after("statements", 0, 100)]
        statement = next(s for s in statements if s["context"]["registration"] == run_id)
        assert statement["verb"]["id"] == "http://adlnet.gov/expapi/verbs/completed"
        assert statement["actor"]["account"]["name"] == "co.lan"
        assert statement["object"]["definition"]["name"] == {"vi": "Axit hóa nước"}
        result = statement["result"]["extensions"]
        summary = result["https://w3id.org/classroom-hub/xapi/extensions/sensor-summary"]
        assert summary["ph"]["unit"] == "pH" and summary["ph"]["min"] == pytest.approx(6.3)
        assert result["https://w3id.org/classroom-hub/xapi/extensions/samples"] == len(run.samples)

        # Data share: the tablets (no account) see the shared run, read-only.
        async with teacher.post(f"/api/lab/runs/{run_id}/share", json={"shared": True}) as r:
            assert r.status == 200
        async with aiohttp.ClientSession(room.hub.url) as tablet:
            async with tablet.get("/api/lab/share") as r:
                shared = (await r.json())["run"]
            async with tablet.get(f"/api/lab/runs/{run_id}") as r:
                assert r.status == 401  # the full API is not the tablets'
        assert shared["id"] == run_id and len(shared["samples"]) == len(run.samples)
        assert "created_by" not in shared and "author" not in shared["annotations"][0]  # data, not people
        assert shared["samples"][0][1:] == [pytest.approx(6.8), pytest.approx(24.0)]

        # A second run by hand, kept apart: both are listed and can be read for an overlay.
        async with teacher.post("/api/lab/runs", json={"name": "Lần 2", "kit_id": "vina-1", "sensors": ["ph"],
                                                      "sample_rate_hz": 10}) as r:  # fmt: skip
            second = (await r.json())["id"]
        await wait_for(lambda: len(room.lab.experiments.get(second).samples) >= 3, timeout=3)
        async with teacher.post(f"/api/lab/runs/{second}/stop") as r:
            assert (await r.json())["stop_reason"] == "by_hand"
        async with teacher.get("/api/lab/runs") as r:
            listed = [x["id"] for x in (await r.json())["runs"]]
        assert listed[:2] == [second, run_id]
        async with teacher.get(f"/api/lab/runs/{second}") as r:
            assert (await r.json())["samples"][0][0] == 0.0

        bad = {**plan, "start_condition": "ph << 3"}
        async with teacher.post("/api/lab/runs", json=bad) as r:
            assert r.status == 400 and "write it like" in (await r.json())["detail"]

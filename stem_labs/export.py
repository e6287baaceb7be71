"""A run as CSV, for a spreadsheet: one row per sample, one column per sensor.

    timestamp,t (s),ph (pH),water_temp (°C)
    2026-03-02T08:15:30.250+07:00,-2.000,6.62,24.1

``timestamp`` is ISO 8601 with milliseconds in the hub's local time and its offset; ``t`` is
seconds from the run's start (negative in the pre-trigger buffer); a missing value is empty.
Annotations follow in a last ``note`` column on the sample nearest to them. A note (or any
cell) that a spreadsheet would run as a formula starts with a quote (classroom_hub/spreadsheet.py);
numbers, negative ones too, stay numbers.
"""

from __future__ import annotations

import io
from datetime import datetime, tzinfo

from classroom_hub import spreadsheet
from stem_labs.runs import Run
from stem_labs.sensors import SENSORS


def run_csv(run: Run, tz: tzinfo | None = None) -> str:
    out = io.StringIO()
    writer = spreadsheet.writer(out, lineterminator="\r\n")
    columns = [f"{key} ({unit})" if unit else key for key, unit in zip(run.plan.sensors, run.units, strict=True)]
    notes = _notes_by_sample(run)
    writer.writerow(["timestamp", "t (s)", *columns, *(["note"] if notes else [])])
    precision = [_decimals(key) for key in run.plan.sensors]
    for index, (ts, values) in enumerate(run.samples):
        stamp = datetime.fromtimestamp(ts, tz).astimezone(tz).isoformat(timespec="milliseconds")
        cells = ["" if v is None else f"{v:.{p}f}" for v, p in zip(values, precision, strict=True)]
        row = [stamp, f"{ts - run.t0:.3f}", *cells]
        if notes:
            row.append(" | ".join(notes.get(index, [])))
        writer.writerow(row)
    return out.getvalue()


def _notes_by_sample(run: Run) -> dict[int, list[str]]:
    if not run.samples:
        return {}
    out: dict[int, list[str]] = {}
    stamps = [ts for ts, _ in run.samples]
    for note in run.annotations:
        nearest = min(range(len(stamps)), key=lambda i: abs(stamps[i] - note.ts))
        out.setdefault(nearest, []).append(note.text)
    return out


def _decimals(key: str) -> int:
    sensor = SENSORS.get(key)
    return sensor.precision + 1 if sensor is not None else 3

"""The lab run CSV: negative readings stay numbers, a note cannot run as a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC

from stem_labs.export import run_csv
from stem_labs.runs import Annotation, Run, RunPlan


def test_negative_values_stay_numbers_and_a_formula_note_is_quoted() -> None:
    plan = RunPlan(name="Nước đá", kit_id="vina-1", sensors=("water_temp",), sample_rate_hz=1)
    start = 1_767_225_600.0
    run = Run(id="r1", plan=plan, created_by="co.lan", created_at=start - 2, units=("°C",), started_at=start)
    run.samples = [(start - 1, (-1.5,)), (start, (-0.25,)), (start + 1, (2.0,))]
    run.annotations = [
        Annotation("a1", "r1", start, "=cmd|' /C calc'!A0", "co.lan", start),
        Annotation("a2", "r1", start + 1, "-thêm đá", "co.lan", start),
    ]
    rows = list(csv.reader(io.StringIO(run_csv(run, UTC), newline="")))
    assert rows[0] == ["timestamp", "t (s)", "water_temp (°C)", "note"]
    assert [row[1:] for row in rows[1:]] == [
        ["-1.000", "-1.50", ""],
        ["0.000", "-0.25", "'=cmd|' /C calc'!A0"],
        ["1.000", "2.00", "'-thêm đá"],
    ]
    assert [float(row[2]) for row in rows[1:]] == [-1.5, -0.25, 2.0]  # a spreadsheet reads them as numbers

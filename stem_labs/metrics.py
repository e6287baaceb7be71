"""The labs' figures for ``/metrics`` (named in the labs' declaration): the lab book's writes that
wait in memory while its file cannot be written, and those dropped beyond the bound."""

from __future__ import annotations

from classroom_hub.metrics import Config, Exposition
from stem_labs.keys import LAB


async def collect(app: Config, out: Exposition) -> None:
    book = app[LAB].book if LAB in app else None
    if book is None:
        return
    out.one("lab_book_kept", "gauge", "Lab book writes waiting in memory for labs.db to be writable.", book.kept)
    out.one("lab_book_kept_dropped_total", "counter",
            "Lab book writes dropped while labs.db could not be written (more than 10,000 waited).",
            book.kept_dropped)  # fmt: skip

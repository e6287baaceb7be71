"""CSV rows: the OneRoster bundles a school exports from its system or edits in Excel, and the PIN file.

``import_oneroster`` gets the demo school's bundle with cells replaced by hostile text,
rows added, dropped and repeated, columns renamed, moved and removed, files dropped,
re-encoded, re-delimited and damaged, as a folder or a zip. It reports each bad row with
its file, row and column and keeps the good ones, or raises a :class:`BundleError` for a
bundle it cannot read at all; what it keeps is a roster the hub can export and import
again, unchanged. ``PinBook.load`` reads the PIN file or raises a :class:`LessonError`.
"""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from classroom_hub.lessons.errors import LessonError
from classroom_hub.lessons.pins import PinBook
from classroom_hub.roster.errors import BundleError
from classroom_hub.roster.oneroster import export_oneroster, import_oneroster
from classroom_hub.roster.oneroster_tables import TABLES
from tests.fuzz.profile import counted, fuzz
from tests.fuzz.strategies import NASTY_TEXTS, damage

SAMPLE = Path(__file__).resolve().parents[2] / "classroom_hub" / "roster" / "samples" / "demo-school"
FILES = {path.name: path.read_text(encoding="utf-8") for path in sorted(SAMPLE.glob("*.csv"))}
KNOWN_FILES = {"manifest.csv", *(table.file for table in TABLES)}
# Text a file can hold (no lone surrogates: bytes decoded as UTF-8 never give one).
TEXTS = [text for text in NASTY_TEXTS if text.encode("utf-8", "ignore").decode() == text]
CELLS = st.one_of(
    st.sampled_from(TEXTS),
    st.sampled_from([",", " , ", "07,08", "7", "13", "KG", "true", "TRUE", "yes", "2025-09-05", "2025-13-45",
                     "2025-08-15T08:00:00.000Z", "2025-08-15T25:00", "036184900001", "1.2E+11", "{cccd:036184900001}",
                     "{cccd:1},{cccd:2}", "tobedeleted", "student", "teacher", "x" * 200_000]),
    st.text(max_size=20),
)  # fmt: skip


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _text(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


@st.composite
def bundles(draw: st.DrawFn) -> dict[str, bytes]:
    """File name -> bytes: the demo school's bundle, changed a few times over."""
    tables = {name: _rows(text) for name, text in FILES.items()}
    raw: dict[str, bytes] = {}
    for _ in range(draw(st.integers(1, 6))):
        name = draw(st.sampled_from(sorted(tables)))
        rows = tables[name]
        action = draw(st.sampled_from(["cell", "cell", "cell", "row", "row", "column", "file"]))
        if action == "cell" and rows:
            row = draw(st.integers(0, len(rows) - 1))
            if rows[row]:
                rows[row][draw(st.integers(0, len(rows[row]) - 1))] = draw(CELLS)
        elif action == "row" and rows:
            row = draw(st.integers(0, len(rows) - 1))
            what = draw(st.sampled_from(["drop", "repeat", "extra_cell", "short", "blank"]))
            if what == "drop":
                del rows[row]
            elif what == "repeat":
                rows.insert(row, list(rows[row]))
            elif what == "extra_cell":
                rows[row] = [*rows[row], draw(CELLS)]
            elif what == "short":
                rows[row] = rows[row][: draw(st.integers(0, len(rows[row])))]
            else:
                rows.insert(row, [""] * draw(st.integers(0, 3)))
        elif action == "column" and rows and rows[0]:
            column = draw(st.integers(0, len(rows[0]) - 1))
            what = draw(st.sampled_from(["rename", "remove", "move"]))
            for cells in rows:
                if column >= len(cells):
                    continue
                if what == "remove":
                    del cells[column]
                elif what == "move":
                    cells.append(cells.pop(column))
            if what == "rename" and column < len(rows[0]):
                rows[0][column] = draw(st.one_of(CELLS, st.sampled_from(["SourcedId", "metadata.x", " sourcedId "])))
        elif action == "file":
            what = draw(st.sampled_from(["drop", "empty", "upper", "semicolon", "latin1", "utf16", "bom", "damage"]))
            text = _text(rows)
            if what == "drop":
                del tables[name]
            elif what == "empty":
                raw[name] = b""
            elif what == "upper":
                raw[name.upper()] = text.encode()
                del tables[name]
            elif what == "semicolon":
                raw[name] = _text(rows, ";").encode()
            elif what == "latin1":
                raw[name] = text.encode("latin-1", "replace")
            elif what == "utf16":
                raw[name] = text.encode("utf-16")
            elif what == "bom":
                raw[name] = b"\xef\xbb\xbf" + text.encode()
            else:
                raw[name] = damage(draw, text.encode())
    files = {name: _text(rows).encode() for name, rows in tables.items()}
    files.update(raw)
    return files


_cases = itertools.count()


CONTAINERS = ["folder", "zip", "zip", "damaged", "encrypted", "bad_utf8_name", "lzma", "empty_name"]


def _write(folder: Path, files: dict[str, bytes], container: str, top: str, draw: st.DrawFn) -> Path:
    """The bundle as a folder, or as a zip made the way an archiver might, or damaged."""
    if container == "folder":
        folder.mkdir(parents=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
        return folder
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in files.items():
            info = zipfile.ZipInfo(f"{top}{name}", date_time=(2025, 8, 15, 8, 0, 0))
            info.compress_type = zipfile.ZIP_LZMA if container == "lzma" else zipfile.ZIP_DEFLATED
            if container == "encrypted" and name == "users.csv":
                info.flag_bits |= 0x1
            bundle.writestr(info, data)
        bundle.writestr(f"__MACOSX/{top}._users.csv", b"\x00\x05\x16\x07")
        bundle.writestr("\u00f3.csv" if container == "bad_utf8_name" else "x.csv", b"a,b\n")
    data = buffer.getvalue()
    if container == "bad_utf8_name":  # flagged UTF-8 (bit 11), bytes that are not
        data = data.replace("\u00f3.csv".encode(), b"\xff\xfe.csv")
    elif container == "empty_name":
        data = data.replace(b"x.csv", b"\x00\x00\x00\x00\x00")  # zipfile cuts a name at its first NUL
    elif container in ("damaged", "lzma"):
        data = damage(draw, data)
    target = folder.with_suffix(".zip")
    target.write_bytes(data)
    return target


# A grades cell of only commas: IndexError in the cell decoder before its fix.
ONLY_COMMAS = {**{name: text.encode() for name, text in FILES.items()},
               "classes.csv": FILES["classes.csv"].replace(",07,", ',",",', 1).encode()}  # fmt: skip


@fuzz(ci=200)
@given(files=bundles(), container=st.sampled_from(CONTAINERS), top=st.sampled_from(["", "", "oneroster/"]),
       data=st.data())  # fmt: skip
@counted("OneRoster CSV bundles")
def test_a_bundle_keeps_its_good_rows_reports_each_bad_one_and_round_trips(
    tmp_path: Path, files: dict[str, bytes], container: str, top: str, data: st.DataObject
) -> None:
    source = _write(tmp_path / f"bundle-{next(_cases)}", files, container, top, data.draw)
    try:
        report = import_oneroster(source)
    except BundleError as err:
        assert str(err)
        return
    for problem in report.problems:
        assert problem.file in KNOWN_FILES and problem.row >= 0 and problem.reason, problem
    assert report.lines()
    if set(report.modes.values()) != {"bulk"} or any(p.row == 0 for p in report.problems):
        return  # a delta, or a file missing, may leave references to rows the hub already has
    # What was kept is a roster the hub can export and import again: the same rows, no problem.
    exported = tmp_path / f"exported-{next(_cases)}"
    export_oneroster(report.roster, exported)
    again = import_oneroster(exported)
    assert [str(p) for p in again.problems if p.row] == []
    for table in TABLES:
        assert set(getattr(again.roster, table.roster_attr)) == set(getattr(report.roster, table.roster_attr))


def test_a_grades_cell_of_only_commas_is_a_reported_row(tmp_path: Path) -> None:
    folder = tmp_path / "bundle"
    folder.mkdir()
    for name, data in ONLY_COMMAS.items():
        (folder / name).write_bytes(data)
    report = import_oneroster(folder)
    assert [str(p) for p in report.problems if p.file == "classes.csv"] == [
        "classes.csv row 2, column grades: ',' holds no grade, only commas"
    ]
    assert "khtn-7a" not in report.roster.classes and "khtn-7b" in report.roster.classes


def test_a_row_whose_parent_row_is_rejected_is_rejected_too(tmp_path: Path) -> None:
    """pgd-demo names a parent that does not exist; thcs-demo, its child, was kept pointing at it."""
    folder = tmp_path / "bundle"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text.replace("district,PGD-DEMO,", "district,PGD-DEMO,7") if name == "orgs.csv"
                                   else text, encoding="utf-8")  # fmt: skip
    report = import_oneroster(folder)
    assert [str(p) for p in report.problems if p.file == "orgs.csv"] == [
        "orgs.csv row 2, column parentSourcedId: '7' is not in orgs.csv (or its row was rejected)",
        "orgs.csv row 3, column parentSourcedId: 'pgd-demo' is not in orgs.csv (or its row was rejected)",
    ]
    assert report.roster.schools == {}


# --- the PIN file ----------------------------------------------------------------------------

PIN_TEXT = "sourcedId,pin\nhs-7a-01,1234\nhs-7a-02,98765432\n# a comment\n"


@st.composite
def pin_files(draw: st.DrawFn) -> bytes:
    rows = _rows(PIN_TEXT)
    for _ in range(draw(st.integers(1, 4))):
        row = draw(st.integers(0, len(rows) - 1))
        if rows[row]:
            rows[row][draw(st.integers(0, len(rows[row]) - 1))] = draw(CELLS)
        if draw(st.booleans()):
            rows.insert(row, draw(st.lists(CELLS, max_size=3)))
    data = _text(rows).encode()
    return damage(draw, data) if draw(st.integers(0, 3)) == 0 else data


@example(b"sourcedId,pin\n" + b"x" * 200_000 + b",1234\n")  # a field over the csv module's limit
@fuzz(ci=200)
@given(pin_files())
@counted("student PIN CSV")
def test_the_pin_file_gives_pins_or_a_lesson_error_naming_the_line(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / f"pins-{next(_cases)}.csv"
    path.write_bytes(data)
    try:
        book = PinBook.load(path)
    except LessonError as err:
        assert err.problems and all(p.file == str(path) and p.message for p in err.problems), err.problems
        return
    assert all(pin.isdigit() and 4 <= len(pin) <= 8 for pin in book.pins.values())

"""Import and export OneRoster 1.1 CSV bundles (a folder or a .zip of CSV files).

Import never gives up on a whole bundle because of one row: every bad row is reported
with its file, row number (as Excel numbers it: the header is row 1), column and reason,
and the good rows are kept. Only a bundle that cannot be read at all (no such path, not
a folder or zip, another OneRoster version) raises :class:`BundleError`.

Tolerated, because Vietnamese schools produce them: a UTF-8 byte order mark (Excel's
"CSV UTF-8"), semicolon separators (Excel with Vietnamese regional settings), columns
in another order, missing optional columns, file names in another case.

Synchronous file I/O: call it from a worker thread (``loop.run_in_executor``) in the hub.
"""

from __future__ import annotations

import csv
import io
import lzma
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from classroom_hub import spreadsheet
from classroom_hub.roster.errors import BundleError
from classroom_hub.roster.models import Person, Roster
from classroom_hub.roster.oneroster_tables import (
    ACADEMIC_SESSIONS,
    CLASSES,
    COURSES,
    ENROLLMENTS,
    MANIFEST_FILES,
    ORGS,
    TABLES,
    USERS,
    CellError,
    Table,
    decode_cell,
    encode_record,
)

FileMode = Literal["absent", "bulk", "delta"]
MAX_FILE_BYTES = 200 * 1024 * 1024  # a province-wide users.csv is ~100 MB; more is a mistake or a zip bomb
# What zipfile raises for a damaged archive besides BadZipFile: corrupt or truncated data of each
# compression method, an unknown method, an encrypted entry, a name flagged UTF-8 that is not.
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, zlib.error, lzma.LZMAError, EOFError, NotImplementedError, RuntimeError,
               UnicodeDecodeError)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in the bundle. ``row`` 0 means the file as a whole."""

    file: str
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        where = self.file if self.row == 0 else f"{self.file} row {self.row}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.reason}"


@dataclass(slots=True)
class ImportReport:
    roster: Roster
    imported: dict[str, int] = field(default_factory=dict)  # file name -> rows kept
    problems: list[Problem] = field(default_factory=list)
    modes: dict[str, FileMode] = field(default_factory=dict)  # file name -> manifest mode

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """The report as a technician reads it (CLI, console): counts per file, then each problem."""
        out = [f"{name}: {count} imported ({self.modes.get(name, 'bulk')})" for name, count in self.imported.items()]
        out.append(f"{len(self.problems)} problem(s)" if self.problems else "no problems")
        out += [f"  {problem}" for problem in self.problems]
        return out


# --- reading ----------------------------------------------------------------------------------


def _read_files(path: Path) -> dict[str, bytes]:
    """File name (lower case) -> bytes, from a folder or a zip (one top folder allowed)."""
    if not path.exists():
        raise BundleError(f"{path}: no such folder or zip file")
    found: dict[str, bytes] = {}
    if path.is_dir():
        for item in path.iterdir():
            if item.is_file() and item.suffix.lower() == ".csv":
                if item.stat().st_size > MAX_FILE_BYTES:
                    raise BundleError(f"{item}: larger than {MAX_FILE_BYTES} bytes")
                found[item.name.lower()] = item.read_bytes()
        return found
    try:
        with zipfile.ZipFile(path) as bundle:
            for info in bundle.infolist():
                name = info.filename.rsplit("/", 1)[-1]
                # Not info.is_dir(): it raises IndexError for an entry with an empty name.
                if info.filename.endswith("/") or not name.lower().endswith(".csv") or "__MACOSX" in info.filename:
                    continue
                if info.file_size > MAX_FILE_BYTES:
                    raise BundleError(f"{path}: {info.filename} is larger than {MAX_FILE_BYTES} bytes")
                found[name.lower()] = bundle.read(info)
    except _ZIP_ERRORS as err:
        raise BundleError(f"{path}: not a folder or a readable zip file ({err})") from err
    return found


@dataclass(frozen=True, slots=True)
class _CsvFile:
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (row number as Excel shows it, cells by column)


def _read_csv(file: str, data: bytes, problems: list[Problem]) -> _CsvFile | None:
    """Decode one CSV file; None (and a problem) if it cannot be read at all."""
    try:
        text = data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte order mark
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        problems.append(
            Problem(file, 0, "", f"not UTF-8 (line {line}); in Excel save as 'CSV UTF-8 (Comma delimited)'")
        )
        return None
    header_line = text.split("\n", 1)[0]
    # Excel with Vietnamese regional settings (decimal comma) separates cells with semicolons.
    delimiter = ";" if ";" in header_line and "," not in header_line else ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as err:
        problems.append(Problem(file, 0, "", f"not a valid CSV file: {err}"))
        return None
    if not records:
        problems.append(Problem(file, 0, "", "empty file: the header row is missing"))
        return None
    header = [name.strip() for name in records[0]]
    rows: list[tuple[int, dict[str, str]]] = []
    for number, cells in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            problems.append(
                Problem(file, number, "", f"{len(cells)} cells but {len(header)} columns: an unquoted comma?")
            )
            continue
        rows.append((number, dict(zip(header, cells, strict=False))))
    return _CsvFile(header, rows)


def _manifest(files: dict[str, bytes], problems: list[Problem]) -> dict[str, FileMode]:
    modes: dict[str, FileMode] = {}
    data = files.get("manifest.csv")
    if data is None:
        problems.append(Problem("manifest.csv", 0, "", "missing; the files present are read as bulk"))
        return {t.file: "bulk" for t in TABLES if t.file.lower() in files}
    manifest = _read_csv("manifest.csv", data, problems)
    rows = manifest.rows if manifest else []
    properties = {row.get("propertyName", "").strip(): row.get("value", "").strip() for _, row in rows}
    version = properties.get("oneroster.version", "")
    if version != "1.1":
        raise BundleError(f"manifest.csv: oneroster.version is {version!r}; this importer reads 1.1")
    for table in TABLES:
        mode = properties.get(table.manifest_key, "absent").lower()
        if mode not in ("absent", "bulk", "delta"):
            reason = f"{mode!r} is not absent, bulk or delta"
            problems.append(Problem("manifest.csv", 0, table.manifest_key, reason))
            mode = "absent"
        present = table.file.lower() in files
        if mode != "absent" and not present:
            problems.append(Problem(table.file, 0, "", f"the manifest says {mode} but the file is missing"))
        elif mode == "absent" and present:
            problems.append(Problem(table.file, 0, "", "present but the manifest says absent: ignored"))
        if mode != "absent" and present:
            modes[table.file] = mode  # type: ignore[assignment]
    return modes


# --- rows to records --------------------------------------------------------------------------


def _reason(error: Any) -> str:
    if error["type"] == "missing":
        return "required, but empty"
    if error["type"] == "string_pattern_mismatch":  # the sourcedId rule
        return "use letters, digits, '.', '_' or '-' only (up to 64, no spaces): it goes in URLs"
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


def _citizen_id_from_user_ids(text: str) -> str | None:
    # userIds look like {cccd:036213900001},{LDAP:abc}
    for item in text.replace("},", "}\n").splitlines():
        key, _, value = item.strip().strip("{}").partition(":")
        if key.strip().lower() == "cccd":
            return value.strip()
    return None


def _record(table: Table, number: int, row: dict[str, str], problems: list[Problem]) -> BaseModel | None:
    values: dict[str, object] = {}
    bad = False
    for column in table.columns:
        text = spreadsheet.restore(row.get(column.name, "").strip())
        if column.field is None or not text:
            continue
        try:
            values[column.field] = decode_cell(column.kind, text)
        except CellError as err:
            problems.append(Problem(table.file, number, column.name, str(err)))
            bad = True
    if table is USERS:
        from_user_ids = _citizen_id_from_user_ids(row.get("userIds", ""))
        if from_user_ids is not None:
            if "citizen_id" in values and values["citizen_id"] != from_user_ids:
                problems.append(Problem(table.file, number, "userIds", "{cccd:...} differs from identifier"))
                bad = True
            values.setdefault("citizen_id", from_user_ids)
    if bad:
        return None
    try:
        return table.model.model_validate(values)
    except ValidationError as err:
        for error in err.errors():
            loc = error["loc"]
            blamed = table.column_of(str(loc[0])) if loc else table.error_columns.get(error["type"], "")
            problems.append(Problem(table.file, number, blamed, _reason(error)))
        return None


def _parse_table(table: Table, csv_file: _CsvFile, problems: list[Problem]) -> dict[str, tuple[int, Any]]:
    """sourcedId -> (row number, record) for the rows that decode and validate."""
    if "sourcedId" not in csv_file.header:
        problems.append(Problem(table.file, 1, "sourcedId", "required column missing: file skipped"))
        return {}
    known = {c.name for c in table.columns}
    for name in csv_file.header:
        if name and name not in known and not name.startswith("metadata."):
            problems.append(Problem(table.file, 1, name, "not a OneRoster 1.1 column: ignored"))
    kept: dict[str, tuple[int, Any]] = {}
    for number, row in csv_file.rows:
        record: Any = _record(table, number, row, problems)
        if record is None:
            continue
        if record.sourced_id in kept:
            first = kept[record.sourced_id][0]
            reason = f"duplicate of row {first}: row skipped"
            problems.append(Problem(table.file, number, "sourcedId", reason))
            continue
        kept[record.sourced_id] = (number, record)
    return kept


# --- references -------------------------------------------------------------------------------


def _refs(
    table: Table, record: BaseModel, same_file: Mapping[str, object], roster: Roster, checked: set[str]
) -> list[tuple[str, str]]:
    """(column, reason) for each reference to a record that is not in the bundle."""
    out: list[tuple[str, str]] = []

    def need(kind: Table, column: str, ref: str | None) -> None:
        # A parent may come after its child in the same file.
        targets = same_file if kind is table else getattr(roster, kind.roster_attr)
        if ref is not None and kind.file in checked and ref not in targets:
            out.append((column, f"{ref!r} is not in {kind.file} (or its row was rejected)"))

    r: Any = record
    if table is ORGS:
        need(ORGS, "parentSourcedId", r.parent_sourced_id)
    elif table is ACADEMIC_SESSIONS:
        need(ACADEMIC_SESSIONS, "parentSourcedId", r.parent_sourced_id)
    elif table is COURSES:
        need(ORGS, "orgSourcedId", r.school_sourced_id)
        need(ACADEMIC_SESSIONS, "schoolYearSourcedId", r.school_year_sourced_id)
    elif table is CLASSES:
        need(ORGS, "schoolSourcedId", r.school_sourced_id)
        need(COURSES, "courseSourcedId", r.course_sourced_id)
        for term in r.term_sourced_ids:
            need(ACADEMIC_SESSIONS, "termSourcedIds", term)
    elif table is USERS:
        for org in r.school_sourced_ids:
            need(ORGS, "orgSourcedIds", org)
    elif table is ENROLLMENTS:
        need(CLASSES, "classSourcedId", r.class_sourced_id)
        need(ORGS, "schoolSourcedId", r.school_sourced_id)
        need(USERS, "userSourcedId", r.person_sourced_id)
        person = roster.people.get(r.person_sourced_id)
        if person is not None and (person.role == "student") != (r.role == "student"):
            out.append(("role", f"{r.role} enrollment for a user whose role is {person.role}"))
    return out


def import_oneroster(path: Path | str) -> ImportReport:
    """Read a OneRoster 1.1 bundle; bad rows go to ``report.problems``, good rows to ``report.roster``."""
    path = Path(path)
    files = _read_files(path)
    report = ImportReport(roster=Roster())
    report.modes = _manifest(files, report.problems)
    # References are only checked against files sent whole (bulk): a delta may refer to
    # records the hub already has.
    checked = {name for name, mode in report.modes.items() if mode == "bulk"}
    citizen_ids: dict[str, str] = {}
    for table in TABLES:
        if table.file not in report.modes:
            continue
        csv_file = _read_csv(table.file, files[table.file.lower()], report.problems)
        if csv_file is None:
            continue
        kept: dict[str, Any] = getattr(report.roster, table.roster_attr)
        parsed = _parse_table(table, csv_file, report.problems)
        # A row whose parent in the same file is rejected goes too, or the roster would keep a
        # reference to nothing (and the next import of its export would reject it).
        usable = dict(parsed)
        while dropped := [sid for sid, (_, record) in usable.items() if _refs(table, record, usable, report.roster,
                                                                               checked)]:  # fmt: skip
            for sid in dropped:
                del usable[sid]
        for sourced_id, (number, record) in parsed.items():
            faults = _refs(table, record, usable, report.roster, checked)
            if isinstance(record, Person):
                holder = citizen_ids.get(record.citizen_id)
                if holder is not None:
                    faults.append(("identifier", f"same citizen ID as user {holder!r}"))
            for column, reason in faults:
                report.problems.append(Problem(table.file, number, column, reason))
            if faults:
                continue
            if isinstance(record, Person):
                citizen_ids[record.citizen_id] = sourced_id
            kept[sourced_id] = record
        report.imported[table.file] = len(kept)
    order = ["manifest.csv", *(t.file for t in TABLES)]
    report.problems.sort(key=lambda p: (order.index(p.file), p.row))
    return report


# --- export -----------------------------------------------------------------------------------


def _csv_bytes(header: list[str], rows: list[list[str]], bom: bool) -> bytes:
    buffer = io.StringIO(newline="")
    writer = spreadsheet.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8")


def export_oneroster(roster: Roster, path: Path | str, *, bom: bool = False) -> None:
    """Write ``roster`` as a OneRoster 1.1 bulk bundle: a folder, or a zip if ``path`` ends in .zip.

    ``bom=True`` starts each file with a byte order mark so Excel shows Vietnamese letters
    correctly; leave it off for other systems. The citizen ID goes in users.csv ``identifier``.
    A cell a spreadsheet would run as a formula (a name starting with ``=``, a phone number
    starting with ``+``) starts with a quote, which the import takes off again
    (classroom_hub/spreadsheet.py).
    """
    path = Path(path)
    contents: dict[str, bytes] = {}
    written: set[str] = set()
    for table in TABLES:
        records: dict[str, BaseModel] = getattr(roster, table.roster_attr)
        if table is COURSES and not records:
            continue  # courses are optional in the hub; say absent rather than send an empty file
        rows = [encode_record(table, records[key]) for key in sorted(records)]
        contents[table.file] = _csv_bytes([c.name for c in table.columns], rows, bom)
        written.add(table.manifest_key.removeprefix("file."))
    manifest = [["manifest.version", "1.0"], ["oneroster.version", "1.1"]]
    manifest += [[f"file.{name}", "bulk" if name in written else "absent"] for name in MANIFEST_FILES]
    manifest += [["source.systemName", "classroom-hub"], ["source.systemCode", ""]]
    contents["manifest.csv"] = _csv_bytes(["propertyName", "value"], manifest, bom)
    try:
        if path.suffix.lower() == ".zip":
            path.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
                for name, data in contents.items():
                    bundle.writestr(name, data)
        else:
            path.mkdir(parents=True, exist_ok=True)
            for name, data in contents.items():
                (path / name).write_bytes(data)
    except OSError as err:
        raise BundleError(f"{path}: cannot write the bundle ({err})") from err

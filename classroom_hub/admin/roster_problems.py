"""What the OneRoster importer says about a bad row, as a code and values the admin page shows
in the reader's language (``admin.roster.reason.<code>`` in this package's catalogues).

The importer (classroom_hub/roster/oneroster.py) words each problem in English for the CLI and
the logs; here each wording it can produce is matched once, the values in it kept (a row
number, a column's value, a file name). A wording not listed comes through as ``other`` with
the English text, so a new check in the importer is never hidden, only untranslated until it
is added here (tests/classroom_hub/admin/test_roster_problems.py lists what must be matched).
"""

from __future__ import annotations

import re
from typing import Any

from classroom_hub.roster.oneroster import Problem

# (code, pattern): the first that matches the whole reason wins; named groups are the values.
_REASONS: tuple[tuple[str, str], ...] = (
    ("required", r"required, but empty"),
    ("sourced_id_chars", r"use letters, digits, '\.', '_' or '-' only .*"),
    ("not_utf8", r"not UTF-8 \(line (?P<line>\d+)\).*"),
    ("bad_csv", r"not a valid CSV file: (?P<detail>.*)"),
    ("empty_file", r"empty file: the header row is missing"),
    ("too_many_cells", r"(?P<cells>\d+) cells but (?P<columns>\d+) columns: an unquoted comma\?"),
    ("no_manifest", r"missing; the files present are read as bulk"),
    ("bad_mode", r"'(?P<mode>.*)' is not absent, bulk or delta"),
    ("file_missing", r"the manifest says (?P<mode>\w+) but the file is missing"),
    ("file_ignored", r"present but the manifest says absent: ignored"),
    ("cccd_differs", r"\{cccd:\.\.\.\} differs from identifier"),
    ("column_missing", r"required column missing: file skipped"),
    ("unknown_column", r"not a OneRoster 1\.1 column: ignored"),
    ("duplicate", r"duplicate of row (?P<row>\d+): row skipped"),
    ("missing_ref", r"'(?P<ref>.*)' is not in (?P<file>\S+) \(or its row was rejected\)"),
    ("role_mismatch", r"(?P<role>\w+) enrollment for a user whose role is (?P<user_role>\w+)"),
    ("same_citizen_id", r"same citizen ID as user '(?P<user>.*)'"),
    ("bad_bool", r"must be true or false, not '(?P<value>.*)'"),
    ("no_grade", r"'(?P<value>.*)' holds no grade, only commas"),
    ("one_grade", r"one grade only .*, got (?P<n>\d+)"),
    ("bad_date", r"'(?P<value>.*)' is not a date like 2025-09-05"),
    ("bad_time", r"'(?P<value>.*)' is not an ISO 8601 time like .*"),
    ("bad_int", r"'(?P<value>.*)' is not a whole number"),
    ("bad_grade", r"grade '(?P<value>.*)' is not 1-12 or a CEDS grade code .*"),
    ("dates_order", r"endDate is before startDate"),
    ("sourced_id_is_cccd", r"sourcedId must not be a 12-digit citizen ID.*"),
    ("cccd_excel", r"looks like a number Excel reformatted.*"),
    ("cccd_digits", r"must be 12 digits, with no letters, spaces or dots"),
    ("cccd_leading_zeros", r"has (?P<n>\d+) digits, a citizen ID has exactly 12; Excel drops leading zeros.*"),
    ("cccd_length", r"has (?P<n>\d+) digits, a citizen ID has exactly 12"),
    ("cccd_province", r"starts with (?P<code>\d+), which is not a province code.*"),
    ("cccd_future", r"digits 4-6 \((?P<digits>\d+)\) give birth year (?P<year>\d+), which is in the future"),
    ("at_least", r"(?:String|List|Tuple) should have at least (?P<n>\d+) (?:characters?|items?).*"),
    ("minimum", r"Input should be greater than or equal to (?P<n>\S+)"),
    ("maximum", r"Input should be less than or equal to (?P<n>\S+)"),
    ("one_of", r"Input should be (?P<values>'.*)"),
)
_COMPILED = tuple((code, re.compile(pattern)) for code, pattern in _REASONS)
# Why a whole bundle cannot be read (BundleError), in the same way.
_BUNDLE: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("not_zip", re.compile(r".*: not a folder or a readable zip file .*")),
    ("file_too_large", re.compile(r".*: (?P<file>\S+) is larger than (?P<bytes>\d+) bytes")),
    ("wrong_version", re.compile(r"manifest\.csv: oneroster\.version is '(?P<version>.*)'; this importer reads 1\.1")),
)


def explain(reason: str) -> tuple[str, dict[str, str]]:
    """The code of an importer's reason and the values in it; ``("other", {"text": reason})``."""
    for code, pattern in _COMPILED:
        match = pattern.fullmatch(reason)
        if match is not None:
            values = {k: v for k, v in match.groupdict().items() if v is not None}
            if code == "one_of":  # pydantic's "'a', 'b' or 'c'": the page joins them its own way
                values["values"] = values["values"].replace("' or '", "', '")
            return code, values
    return "other", {"text": reason}


def explain_bundle(detail: str) -> tuple[str, dict[str, str]]:
    """The code of a reason the whole bundle was refused, and its values; ``other`` otherwise."""
    for code, pattern in _BUNDLE:
        match = pattern.fullmatch(detail)
        if match is not None:
            return code, match.groupdict()
    return "other", {"text": detail}


def as_json(problem: Problem) -> dict[str, Any]:
    code, values = explain(problem.reason)
    return {"file": problem.file, "row": problem.row, "column": problem.column, "reason": problem.reason,
            "code": code, "values": values}  # fmt: skip

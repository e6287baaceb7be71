"""Optional PINs: a student whose roster id has a PIN must type it to take their seat.

The PINs live in one CSV file on the hub, ``<data_dir>/student-pins.csv``
(``sourcedId,pin``, readable only by the hub's user). A class without PINs joins by name
alone; ``classroom-hub lessons pins CLASS`` gives every student of a class a PIN and
prints the list for the teacher to hand out. Five wrong PINs in a row lock that student's
seat for a minute, so a four-digit PIN cannot be guessed by trying them all.
"""

from __future__ import annotations

import csv
import hmac
import io
import os
import re
import secrets
import time
from collections.abc import Iterable
from pathlib import Path

from classroom_hub import spreadsheet
from classroom_hub.lessons.errors import LessonError, Problem

PIN_FILE = "student-pins.csv"
PIN_RE = re.compile(r"^[0-9]{4,8}$")
MAX_FAILURES = 5
LOCK_S = 60.0


class PinBook:
    def __init__(self, path: Path, pins: dict[str, str] | None = None) -> None:
        self.path = path
        self.pins: dict[str, str] = dict(pins or {})
        self._failures: dict[str, tuple[int, float]] = {}

    @classmethod
    def load(cls, path: Path) -> PinBook:
        """Read the PIN file (blocking); a missing file means no PINs at all."""
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            return cls(path)
        except OSError as err:
            raise LessonError([Problem(str(path), "", f"cannot read: {err}")]) from err
        except UnicodeDecodeError as err:
            raise LessonError([Problem(str(path), f"byte {err.start}", "not UTF-8 text")]) from err
        pins: dict[str, str] = {}
        problems: list[Problem] = []
        reader = csv.reader(io.StringIO(text))
        try:
            records = list(reader)
        except csv.Error as err:  # a field over the csv module's limit
            raise LessonError([Problem(str(path), f"line {reader.line_num}", f"not a valid CSV file: {err}")]) from err
        for number, row in enumerate(records, start=1):
            if not row or row[0].strip() in ("", "sourcedId") or row[0].startswith("#"):
                continue
            if len(row) != 2 or not PIN_RE.match(row[1].strip()):
                problems.append(Problem(str(path), f"line {number}", "expected 'sourcedId,PIN' with a 4-8 digit PIN"))
                continue
            pins[row[0].strip()] = row[1].strip()
        if problems:
            raise LessonError(problems)
        return cls(path, pins)

    def required(self, student: str) -> bool:
        return student in self.pins

    def locked_for(self, student: str) -> float:
        """Seconds this student's seat stays locked after too many wrong PINs (0: not locked)."""
        count, since = self._failures.get(student, (0, 0.0))
        if count < MAX_FAILURES:
            return 0.0
        return max(0.0, since + LOCK_S - time.monotonic())

    def check(self, student: str, pin: str | None) -> bool:
        """True when no PIN is needed or ``pin`` is right; counts wrong tries."""
        expected = self.pins.get(student)
        if expected is None:
            return True
        if self.locked_for(student) > 0:
            return False
        if pin is not None and hmac.compare_digest(pin.encode(), expected.encode()):
            self._failures.pop(student, None)
            return True
        count, _since = self._failures.get(student, (0, 0.0))
        if count >= MAX_FAILURES:
            count = 0  # the lock ran out: a fresh round of tries
        self._failures[student] = (count + 1, time.monotonic())
        return False

    def give(self, students: Iterable[str], *, digits: int = 4) -> dict[str, str]:
        """A new random PIN for each student who has none; returns the PINs of ``students``."""
        out = {}
        for student in students:
            if student not in self.pins:
                self.pins[student] = "".join(secrets.choice("0123456789") for _ in range(digits))
            out[student] = self.pins[student]
        return out

    def save(self) -> None:
        """Write the file atomically, readable by the hub's user only."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            writer = spreadsheet.writer(out, lineterminator="\n")
            writer.writerow(["sourcedId", "pin"])
            for student, pin in sorted(self.pins.items()):
                writer.writerow([student, pin])
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)

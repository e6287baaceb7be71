"""OneRoster bundles for the admin page's tests: the demo school's, with a class 7C added and
rows spoilt the way schools spoil them."""

from __future__ import annotations

import zipfile
from pathlib import Path

import classroom_hub.roster

SAMPLE = Path(classroom_hub.roster.__file__).parent / "samples" / "demo-school"

# users.csv has 78 people (rows 2-79): these are rows 80-83.
USERS_7C = [
    "hs-7c-01,,,true,thcs-demo,student,,,An,Trần,Văn,036213900101,,,,,07,",
    "hs-7c-02,,,true,thcs-demo,student,,,,Lê,Thị,036213900102,,,,,07,",  # row 81: no given name
    "hs-7c-03,,,true,thcs-demo,student,,,Cường,Lý,,12345,,,,,07,",  # row 82: a 5-digit citizen ID
    "hs-7c-01,,,true,thcs-demo,student,,,An,Trần,Văn,036213900103,,,,,07,",  # row 83: hs-7c-01 again
]
CLASS_7C = ("khtn-7c,,,Khoa học tự nhiên - Lớp 7C,07,khtn-7,7C,scheduled,lop-7a,thcs-demo,hk1-2025-2026,"
            "Khoa học tự nhiên,,")
# enrollments.csv has 79 rows (2-80): these are rows 81-82.
ENROLL_7C = ["e-7c-01,,,khtn-7c,thcs-demo,hs-7c-01,student,false,,",
             "e-7c-02,,,khtn-7c,thcs-demo,hs-7c-99,student,false,,"]  # row 82: nobody of that id  # fmt: skip


def zip_bundle(target: Path, extra: dict[str, list[str]] | None = None) -> Path:
    """The demo bundle as a zip, each file with ``extra[file]`` lines added at its end."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(SAMPLE.glob("*.csv")):
            text = path.read_text(encoding="utf-8")
            lines = (extra or {}).get(path.name, [])
            if lines:
                text = text.rstrip("\n") + "\n" + "\n".join(lines) + "\n"
            archive.writestr(path.name, text.encode("utf-8"))
    return target


def class_7c_with_bad_rows(target: Path) -> Path:
    return zip_bundle(target, {"users.csv": USERS_7C, "classes.csv": [CLASS_7C], "enrollments.csv": ENROLL_7C})

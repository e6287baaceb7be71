"""`classroom-hub lessons import|list|pins` on a room file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from classroom_hub.cli import main
from classroom_hub.lessons import sample_packages
from classroom_hub.lessons.pins import PinBook
from classroom_hub.lessons.rosters import ROSTER_FILE, open_roster


def room_file(tmp_path: Path, school_code: str = "THCS-DEMO") -> Path:
    path = tmp_path / "room.toml"
    path.write_text(f'data_dir = "{tmp_path / "hub"}"\n[room]\nschool_code = "{school_code}"\nid = "lop-7a"\n'
                    'name = "Lớp 7A"\n', encoding="utf-8")  # fmt: skip
    return path


def test_import_then_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(room_file(tmp_path))
    assert main(["lessons", "list", "-c", config]) == 0
    assert "no lessons stored" in capsys.readouterr().out
    sample = sample_packages()[0]
    assert main(["lessons", "import", str(sample), "-c", config]) == 0
    assert "stored chuyen-dong-thang-10 1.0 (13 steps" in capsys.readouterr().out
    assert main(["lessons", "list", "-c", config]) == 0
    listing = capsys.readouterr().out
    assert "chuyen-dong-thang-10" in listing and "Chuyển động thẳng đều" in listing


def test_a_broken_package_is_refused_with_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(sample_packages()[1], broken)
    (broken / "slides" / "01-gioi-thieu.svg").unlink()
    assert main(["lessons", "import", str(broken), "-c", str(room_file(tmp_path))]) == 1
    err = capsys.readouterr().err
    assert "nothing stored" in err and "broken/slides/01-gioi-thieu.svg: steps[0].image: missing" in err


def test_pins_for_a_class(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(room_file(tmp_path))
    open_roster(tmp_path / "hub" / ROSTER_FILE, "THCS-DEMO").close()  # the demo school's roster
    assert main(["lessons", "pins", "khtn-7a", "-c", config]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 40 and lines[0].startswith("hs-7a-01") and lines[0].endswith("Ngô Anh Bình")
    book = PinBook.load(tmp_path / "hub" / "student-pins.csv")
    assert len(book.pins) == 40 and all(len(pin) == 4 and pin.isdigit() for pin in book.pins.values())
    assert (tmp_path / "hub" / "student-pins.csv").stat().st_mode & 0o077 == 0  # the hub's user only
    # Running it again keeps the PINs the students already know.
    assert main(["lessons", "pins", "khtn-7a", "-c", config]) == 0
    assert capsys.readouterr().out.splitlines() == lines
    assert main(["lessons", "pins", "no-such-class", "-c", config]) == 1


def test_a_malformed_pin_file_names_the_line(tmp_path: Path) -> None:
    from classroom_hub.lessons.errors import LessonError

    path = tmp_path / "student-pins.csv"
    path.write_text("sourcedId,pin\nhs-7a-01,12\nhs-7a-02,1234\n", encoding="utf-8")
    with pytest.raises(LessonError, match="line 2: expected 'sourcedId,PIN'"):
        PinBook.load(path)
    assert PinBook.load(tmp_path / "missing.csv").pins == {}

"""The studio's settings are the room file's [studio] section: checked, overridable, and the old
``<data_dir>/studio/studio.toml`` still read for one release, with a warning naming the new place."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.loader import ConfigError, load_settings
from studio.settings import load_studio_settings

ROOM = '''data_dir = "{data}"
[room]
school_code = "SO-GDDT"
id = "studio-1"
name = "Phòng thu"
kind = "studio"
'''


def room(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "room.toml"
    path.write_text(ROOM.format(data=tmp_path / "hub") + extra, encoding="utf-8")
    return path


def old_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub" / "studio" / "studio.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def check_config(path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "classroom_hub.cli", "check-config", str(path)],
                          capture_output=True, text=True, timeout=60, env={**os.environ, **env})  # fmt: skip


def test_the_section_of_the_room_file_is_the_studios_settings(tmp_path: Path) -> None:
    settings = load_settings(room(tmp_path, '[studio]\nprogram_size = "1920x1080"\nfps = 25\n'))
    studio = load_studio_settings(settings)
    assert studio.size == (1920, 1080) and studio.fps == 25
    assert load_studio_settings(load_settings(room(tmp_path))).fps == 30  # every field has a default


def test_check_config_checks_the_section_and_the_environment_overrides_it(tmp_path: Path) -> None:
    bad = check_config(room(tmp_path, "[studio]\nfps = 7\n"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "studio.fps: fps must divide 48000" in bad.stderr
    assert check_config(room(tmp_path, "[studio]\nfps = 7\n"), CLASSROOM_HUB_STUDIO__FPS="25").returncode == 0
    overridden = check_config(room(tmp_path), CLASSROOM_HUB_STUDIO__TIMEZONE="Mars/Olympus")
    assert "studio.timezone: unknown time zone 'Mars/Olympus'" in overridden.stderr
    assert "from environment variable CLASSROOM_HUB_STUDIO__TIMEZONE" in overridden.stderr


def test_an_old_studio_toml_is_still_read_with_a_warning_naming_the_new_place(tmp_path: Path) -> None:
    old = old_file(tmp_path, 'program_size = "320x180"\npreview_width = 160\n')
    path = room(tmp_path)
    warnings: list[str] = []
    studio = load_studio_settings(load_settings(path, warnings))
    assert studio.size == (320, 180) and studio.preview_width == 160
    (warning,) = warnings
    assert str(old) in warning and f"under a [studio] heading in {path}" in warning and "delete" in warning
    result = check_config(path)
    assert result.returncode == 0 and f"warning: {old}: these settings belong in the room file now" in result.stderr


def test_a_mistake_in_the_old_file_names_the_old_file(tmp_path: Path) -> None:
    old = old_file(tmp_path, "crf = 99\n")
    with pytest.raises(ConfigError) as err:
        load_settings(room(tmp_path))
    assert err.value.problems == [f"studio.crf: Input should be less than or equal to 51 (from {old})"]
    old_file(tmp_path, "crf = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(room(tmp_path))


def test_the_room_files_section_wins_over_an_old_file(tmp_path: Path) -> None:
    old_file(tmp_path, "fps = 50\n")
    assert load_studio_settings(load_settings(room(tmp_path, "[studio]\nfps = 25\n"))).fps == 25

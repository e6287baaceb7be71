"""Room files: the shipped examples load, env overrides win, every mistake is named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config.loader import ConfigError, load_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "examples"

MINIMAL = """
[room]
school_code = "S1"
id = "r1"
name = "Phòng 1"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "room.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["demo", "demo-lab", "demo-studio", "smart-classroom", "stem-lab", "studio"])
def test_shipped_examples_are_valid(name: str) -> None:
    settings = load_settings(EXAMPLES / f"{name}.toml")
    assert settings.room.name


def test_smart_classroom_has_the_plans_equipment() -> None:
    settings = load_settings(EXAMPLES / "smart-classroom.toml")
    kinds = [d.kind for _id, d in settings.device_list()]
    assert kinds.count("tablet") == 40
    assert kinds.count("headset") == 40
    assert kinds.count("ar_device") == 4
    assert kinds.count("teacher_laptop") == 1
    (display,) = [d for _id, d in settings.device_list() if d.kind == "display"]
    assert display.transport.type == "serial"


def test_count_expands_templated_ids(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + '[[devices]]\nkind = "tablet"\nid = "T{:02d}"\ncount = 3\n')
    ids = [device_id for device_id, _d in load_settings(path).device_list()]
    assert ids == ["T01", "T02", "T03"]


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, MINIMAL + '[mqtt]\nurl = "mqtt://10.0.0.1:1883"\n[http]\nport = 8080\n')
    monkeypatch.setenv("CLASSROOM_HUB_MQTT__URL", "mqtt://127.0.0.1:1884")
    monkeypatch.setenv("CLASSROOM_HUB_HTTP__PORT", "9090")
    monkeypatch.setenv("CLASSROOM_HUB_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings(path)
    assert settings.mqtt.url == "mqtt://127.0.0.1:1884"
    assert settings.http.port == 9090
    assert settings.http.host == "0.0.0.0"  # the rest of [http] still comes from defaults/file
    assert settings.data_dir == tmp_path / "data"


def test_every_problem_is_reported_with_its_field_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[room]
school_code = "S1"
id = "bad id with spaces"

[http]
port = 70000
colour = "blue"

[[devices]]
kind = "toaster"
id = "x1"

[[devices]]
kind = "display"
id = "d1"
protocol = "samsung_mdc"
transport = { type = "tcp", host = "127.0.0.1" }
""",
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    problems = "\n".join(info.value.problems)
    assert "room.id:" in problems
    assert "room.name: Field required" in problems
    assert "http.port:" in problems
    assert "http.colour: unknown field" in problems
    assert "devices[0]: unknown device kind 'toaster'" in problems
    assert "devices[1].transport.port: Field required" in problems
    assert str(path) in str(info.value)


def test_duplicate_device_ids_are_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        MINIMAL
        + '[[devices]]\nkind = "tablet"\nid = "T{:02d}"\ncount = 5\n'
        + '[[devices]]\nkind = "headset"\nid = "T03"\n',
    )
    with pytest.raises(ConfigError, match=r"device id 'T03' appears twice \(devices\[0\] and devices\[1\]\)"):
        load_settings(path)


def test_env_override_errors_name_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLASSROOM_HUB_HTTP__PORT", "not-a-port")
    with pytest.raises(ConfigError, match="CLASSROOM_HUB_HTTP__PORT"):
        load_settings(write(tmp_path, MINIMAL))


def test_toml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not valid TOML: .*line 3"):
        load_settings(write(tmp_path, '[room]\nid = "r1"\nname = \n'))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.toml")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "classroom_hub.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_check_config_summarises_a_valid_room() -> None:
    result = run_cli("check-config", str(EXAMPLES / "smart-classroom.toml"))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
    assert "40 x tablet" in result.stdout
    assert "40 x headset" in result.stdout
    assert "1 x display         over serial" in result.stdout


def test_check_config_lists_errors_without_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, '[room]\nschool_code = "S"\nid = "r"\nname = "n"\n[mqtt]\nurl = "http://x"\n')
    result = run_cli("check-config", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{path}: mqtt.url: must look like mqtt://host:1883" in result.stderr


def test_lesson_timing_must_cut_after_missed_beats(tmp_path: Path) -> None:
    path = tmp_path / "room.toml"
    path.write_text('[room]\nschool_code = "T"\nid = "r1"\nname = "P"\n[lessons]\nbeat_s = 5\ndead_after_s = 5\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert err.value.problems == ["lessons: dead_after_s must be longer than beat_s (a connection is cut after "
                                  "missed beats)"]  # fmt: skip

"""What ``check-config`` accepts, ``run`` runs: every shipped example starts a hub that answers
/healthz, and a file ``check-config`` refuses (a camera without a source...) is refused with
the field named, never left to crash ``run`` with a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from config.loader import load_settings
from tests.conftest import run_hub

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "examples"


def _check_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "classroom_hub.cli", "check-config", str(path)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.toml")))
async def test_every_example_check_config_accepts_also_runs(
    example: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, system_mosquitto_url: str
) -> None:
    path = EXAMPLES / example
    assert _check_config(path).returncode == 0
    # The room's own machine differs (its broker, its disk): only those come from the environment.
    monkeypatch.setenv("CLASSROOM_HUB_DATA_DIR", str(tmp_path / "hub"))
    monkeypatch.setenv("CLASSROOM_HUB_MQTT__URL", system_mosquitto_url)
    monkeypatch.setenv("CLASSROOM_HUB_MQTT__CLIENT_ID", f"hub-{example}-{tmp_path.name}")
    settings = load_settings(path)
    async with run_hub(settings) as hub, aiohttp.ClientSession() as http, http.get(f"{hub.url}/healthz") as r:
        body = await r.json()
    assert r.status in (200, 503), body
    assert body["room"] == settings.room.id
    assert body["parts"]["store"] == "up" and body["parts"]["bus"] == "up", body


BAD = {
    "camera without a source": (
        '[[devices]]\nkind = "camera"\nid = "cam-1"\nptz = "visca_ip"\n'
        '[devices.transport]\ntype = "udp"\nhost = "127.0.0.1"\nport = 52381\n',
        "devices[0].source",
    ),
    "camera with an empty source": ('[[devices]]\nkind = "camera"\nid = "cam-1"\nsource = ""\n', "devices[0].source"),
    "destination without its dsn": ('[[central.destinations]]\nname = "c"\nkind = "postgres"\n', "dsn"),
    "unknown device kind": ('[[devices]]\nkind = "toaster"\nid = "t1"\n', "devices[0]"),
}
ROOM = '[room]\nschool_code = "S1"\nid = "r1"\nname = "Phòng 1"\n'


@pytest.mark.parametrize("case", sorted(BAD))
def test_check_config_refuses_what_run_could_not_run_naming_the_field(case: str, tmp_path: Path) -> None:
    text, field = BAD[case]
    path = tmp_path / "room.toml"
    path.write_text(ROOM + text, encoding="utf-8")
    done = _check_config(path)
    assert done.returncode != 0
    assert field in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    run = subprocess.run([sys.executable, "-m", "classroom_hub.cli", "run", "--config", str(path)],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode != 0 and field in run.stderr and "Traceback" not in run.stderr, run.stderr


def test_check_config_names_every_central_destination(tmp_path: Path) -> None:
    path = tmp_path / "room.toml"
    path.write_text(ROOM + '[[central.destinations]]\nname = "so-gd"\nkind = "postgres"\n'
                    'dsn = "postgresql://hub:x@central.example.vn:5432/edu"\n'
                    '[[central.destinations]]\nname = "lrs-truong"\nkind = "xapi"\nurl = "https://lrs.example.vn/xAPI"\n',
                    encoding="utf-8")  # fmt: skip
    done = _check_config(path)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.strip().startswith("central"))
    assert "so-gd (PostgreSQL)" in line and "lrs-truong (xAPI LRS https://lrs.example.vn/xAPI)" in line, line
    assert "postgresql://" not in done.stdout  # the DSN holds a password


def test_check_config_says_no_central_when_there_is_none(tmp_path: Path) -> None:
    path = tmp_path / "room.toml"
    path.write_text(ROOM, encoding="utf-8")
    line = next(x for x in _check_config(path).stdout.splitlines() if x.strip().startswith("central"))
    assert line.split() == ["central", "-"]

"""The commands a technician types: roster import/export, push status/now, central migrate."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest

from classroom_hub.cli import main
from classroom_hub.roster import RosterCache
from tests.classroom_hub.pusher.conftest import ROOT, statement

SAMPLE = ROOT / "classroom_hub" / "roster" / "samples" / "demo-school"


def _room(tmp_path: Path, destinations: str = "") -> Path:
    path = tmp_path / "room.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "hub"}"\n[room]\nschool_code = "THCS-DEMO"\nid = "lop-7a"\nname = "Lớp 7A"\n'
        f"[central]\nroster_pull_interval_min = 0\n{destinations}",
        encoding="utf-8",
    )
    return path


def test_roster_import_reports_bad_rows_and_keeps_the_good_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(SAMPLE, bundle)
    users = (bundle / "users.csv").read_text(encoding="utf-8").splitlines()
    # Row 5 (Excel's numbering): the citizen ID lost its leading zero in Excel.
    cells = users[4].split(",")
    bad_user = cells[0]
    cells[11] = cells[11].lstrip("0")
    users[4] = ",".join(cells)
    (bundle / "users.csv").write_text("\n".join(users) + "\n", encoding="utf-8")
    room = _room(tmp_path)

    code = main(["roster", "import", str(bundle), "-c", str(room)])

    out = capsys.readouterr().out
    assert code == 3
    assert "users.csv row 5, column identifier: has 11 digits" in out
    assert f"'{bad_user}' is not in users.csv" in out  # its enrollment goes too, and says why
    assert "users.csv: 77 imported" in out
    with RosterCache(tmp_path / "hub" / "roster.sqlite3") as cache:
        assert cache.counts()["people"] == 77
        assert cache.person(bad_user) is None

    # Fixed and imported again: the whole bundle replaces the hub's roster.
    shutil.copy(SAMPLE / "users.csv", bundle / "users.csv")
    assert main(["roster", "import", str(bundle), "-c", str(room)]) == 0
    assert "replaced the hub's roster" in capsys.readouterr().out
    exported = tmp_path / "export.zip"
    assert main(["roster", "export", str(exported), "-c", str(room)]) == 0
    assert "78 people, 2 classes" in capsys.readouterr().out
    assert main(["roster", "import", str(exported), "-c", str(room)]) == 0


def test_a_bundle_that_is_not_there_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["roster", "import", str(tmp_path / "missing.zip"), "-c", str(_room(tmp_path))]) == 1
    assert "no such folder or zip file" in capsys.readouterr().err


def test_push_now_and_push_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "archive.db"
    room = _room(tmp_path, f'[[central.destinations]]\nname = "archive"\nkind = "sqlite"\npath = "{archive}"\n')

    async def fill() -> None:
        from classroom_hub.store import TelemetryStore

        store = TelemetryStore(tmp_path / "hub" / "telemetry.db")
        await store.open()
        await store.add_statements([statement(i) for i in range(250)])
        await store.close()

    asyncio.run(fill())
    assert main(["push", "status", "-c", str(room)]) == 0
    out = capsys.readouterr().out
    assert "archive [sqlite]" in out and "queue:        250 (statements 250, readings 0, device_events 0)" in out
    assert "last success: never" in out

    assert main(["push", "now", "-c", str(room)]) == 0
    captured = capsys.readouterr()
    assert "archive: done, 0 left" in captured.out
    assert "100.0 %" in captured.err and "250/250" in captured.err  # the progress bar

    assert main(["push", "status", "-c", str(room)]) == 0
    out = capsys.readouterr().out
    assert "queue:        0 " in out and "quarantined:  0" in out and "last success: 20" in out
    assert "nobody is pushing now" in out


async def test_central_migrate_from_the_command_line(fresh_dsn: str) -> None:
    async def run(*args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "classroom_hub.cli", *args, cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        return out.decode()

    first = await run("central", "migrate", "--dsn", fresh_dsn)
    assert "schema version 4; applied now: 1, 2, 3, 4" in first
    again = await run("central", "migrate", "--dsn", fresh_dsn)
    assert "applied now: none" in again


async def test_push_now_wakes_the_running_hub(tmp_path: Path) -> None:
    from classroom_hub.app import STORE
    from classroom_hub.pusher.keys import PUSHER
    from config.loader import load_settings
    from tests.conftest import run_hub, wait_for

    archive = tmp_path / "archive.db"
    room = _room(tmp_path, f'idle_check_s = 600\n[[central.destinations]]\nname = "archive"\nkind = "sqlite"\n'
                           f'path = "{archive}"\n[http]\nhost = "127.0.0.1"\nport = 0\n')  # fmt: skip
    async with run_hub(load_settings(room)) as hub:
        courier = hub.app[PUSHER].couriers["archive"]
        await wait_for(lambda: courier.state == "idle", timeout=10)  # and it will not look again for 10 minutes
        await hub.app[STORE].add_statements([statement(i) for i in range(40)])
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "classroom_hub.cli", "push", "now", "-c", str(room), cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        assert "archive: done, 0 left" in out.decode()
        assert courier.delivered["statements"] == 40  # delivered by the hub itself, woken by the command

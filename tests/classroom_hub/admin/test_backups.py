"""Backups of the hub's databases: a consistent copy while the store keeps committing, and the
restore on the box, which checks every file before it replaces anything."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sqlite3
import zipfile
from pathlib import Path

import pytest

from classroom_hub.admin.backups import BackupError, Backups, restore
from classroom_hub.auth import Accounts
from classroom_hub.cli import main
from classroom_hub.store import TelemetryStore


def _users(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute("SELECT username FROM users ORDER BY username")]


async def test_a_backup_made_while_the_store_writes_restores_what_it_held(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    accounts = Accounts(data / "accounts.db")
    accounts.add("lan", "mat-khau-123", "teacher")
    accounts.close()
    (data / "labs").mkdir()
    with contextlib.closing(sqlite3.connect(data / "labs" / "labs.db")) as labs:  # a database in a sub-folder
        labs.execute("CREATE TABLE runs (id TEXT)")
        labs.execute("INSERT INTO runs VALUES ('r1')")
        labs.commit()
    (data / "device-labels.json").write_text('{"T01": {"name": "Bàn 1"}}', encoding="utf-8")
    (data / "notes.txt").write_text("not a database")
    (data / "admin" / "uploads").mkdir(parents=True)
    (data / "admin" / "uploads" / "half.db").write_bytes((data / "accounts.db").read_bytes())  # never backed up

    store = TelemetryStore(data / "telemetry.db")
    await store.open()
    writing = True

    async def keep_writing() -> int:
        n = 0
        while writing:
            n += 1
            await store.add_statements([{"id": f"s-{n}", "n": n}])
        return n

    writer = asyncio.create_task(keep_writing())
    await asyncio.sleep(0.05)
    backups = Backups(data, "lop-7a")
    loop = asyncio.get_running_loop()
    manifest = await loop.run_in_executor(None, backups.make, tmp_path / "backup.zip")
    writing = False
    written = await writer
    await store.close()

    paths = {f["path"]: f for f in manifest["files"]}
    assert set(paths) == {"accounts.db", "labs/labs.db", "telemetry.db", "device-labels.json"}
    assert paths["accounts.db"]["schema_version"] == 2 and paths["device-labels.json"]["database"] is False
    with zipfile.ZipFile(tmp_path / "backup.zip") as archive:
        assert json.loads(archive.read("manifest.json"))["room"] == "lop-7a"
        archive.extract("telemetry.db", tmp_path / "copy")
    with contextlib.closing(sqlite3.connect(tmp_path / "copy" / "telemetry.db")) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        copied = copy.execute("SELECT count(*), max(seq) FROM statements").fetchone()
    # A snapshot of one moment: some of the statements, with no gap in their sequence.
    assert 0 < copied[0] <= written and copied[0] == copied[1]

    # Later changes are undone by the restore; what it replaced is kept aside.
    accounts = Accounts(data / "accounts.db")
    accounts.add("minh", "mat-khau-456", "technician")
    accounts.close()
    done = await loop.run_in_executor(None, restore, tmp_path / "backup.zip", data)
    assert sorted(done.files) == sorted(paths)
    assert _users(data / "accounts.db") == ["lan"]
    assert done.kept_in is not None and _users(done.kept_in / "accounts.db") == ["lan", "minh"]
    assert not list(data.glob("restore-*"))


def _tampered(source: Path, target: Path, change: dict[str, object] | None = None, body: bytes | None = None) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        manifest = json.loads(old.read("manifest.json"))
        if change:
            manifest["files"][0].update(change)
        for item in old.infolist():
            if item.filename == "manifest.json":
                new.writestr(item, json.dumps(manifest))
            elif body is not None and item.filename == manifest["files"][0]["path"]:
                new.writestr(item, body)
            else:
                new.writestr(item, old.read(item))
    return target


def test_a_damaged_or_hostile_backup_replaces_nothing(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    accounts = Accounts(data / "accounts.db")
    accounts.add("lan", "mat-khau-123", "teacher")
    accounts.close()
    good = tmp_path / "good.zip"
    Backups(data, "lop-7a").make(good)
    before = (data / "accounts.db").read_bytes()

    damaged = _tampered(good, tmp_path / "damaged.zip", body=b"SQLite format 3\x00" + b"\x00" * 100)
    with pytest.raises(BackupError, match=r"accounts\.db is damaged"):
        restore(damaged, data)
    escape = _tampered(good, tmp_path / "escape.zip", change={"path": "../outside.db"})
    with pytest.raises(BackupError, match="unsafe path"):
        restore(escape, data)
    with pytest.raises(BackupError, match="not a classroom hub backup"):
        restore(_zip_without_manifest(tmp_path / "other.zip"), data)
    assert (data / "accounts.db").read_bytes() == before
    assert not (tmp_path / "outside.db").exists()
    assert not list(data.glob("restore-*")) and not list(data.glob("before-restore-*"))


def _zip_without_manifest(target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("photos/lop-7a.jpg", b"\xff\xd8")
    return target


def test_the_cli_backs_up_and_restores_only_a_stopped_hub(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "hub"
    accounts = Accounts(data / "accounts.db")
    accounts.add("lan", "mat-khau-123", "teacher")
    accounts.close()
    with socket.socket() as hub:  # something answers on the hub's port, as the running hub would
        hub.bind(("127.0.0.1", 0))
        hub.listen()
        port = hub.getsockname()[1]
        room = tmp_path / "room.toml"
        room.write_text(f'data_dir = "{data}"\n[room]\nschool_code = "TEST"\nid = "lop-7a"\nname = "Lớp 7A"\n'
                        f'[http]\nhost = "127.0.0.1"\nport = {port}\n', encoding="utf-8")  # fmt: skip
        assert main(["backup", "make", "-c", str(room), "--out", str(tmp_path / "b.zip")]) == 0
        assert "wrote" in capsys.readouterr().out
        assert main(["backup", "restore", str(tmp_path / "b.zip"), "-c", str(room)]) == 2
        assert "stop it first" in capsys.readouterr().err
    assert main(["backup", "restore", str(tmp_path / "b.zip"), "-c", str(room)]) == 0
    out = capsys.readouterr().out
    assert "restored 1 files" in out and "accounts.db" in out and "before-restore-" in out

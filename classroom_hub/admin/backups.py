"""Backups of the hub's databases: a zip made while the hub runs, and its restore (a CLI step).

**What is in it**: every SQLite database under the data folder (accounts, the telemetry store
with its statements and alarms, the roster, the gradebook, paired displays, the lab's and the
studio's, a SQLite push destination...), found by their header whatever their name, each copied
with SQLite's online backup API (classroom_hub/storage/sqlite.py :func:`backup`): a consistent
snapshot while the hub keeps writing, checked before it goes in. Beside them, the admin's device
names (``device-labels.json``) and ``manifest.json``: the hub's version, the room, when, and for
each file its schema version, size and SHA-256. Not in it: lesson packages and recordings (large,
and kept elsewhere too: the lesson packages' own files, the materials bank), the TLS keys and the
MQTT passwords (secrets are not to travel by download).

**Restore** is done on the box, the hub stopped, never from a web page (a wrong click would
replace a school's records): ``classroom-hub backup restore FILE.zip -c room.toml``
(docs/admin.md). Every file is checked before anything is replaced; the files replaced are kept
in ``<data_dir>/before-restore-<time>/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from classroom_hub import __version__
from classroom_hub.admin.devices import LABELS_FILE
from classroom_hub.errors import HubError, StoreError
from classroom_hub.storage.sqlite import backup, is_database

FORMAT = "classroom-hub-backup"
WORK_FOLDER = "admin"  # <data_dir>/admin: uploads and backups being made, never backed up
SKIPPED_PREFIXES = (WORK_FOLDER + "/", "before-restore-", "restore-")
_COPY = 1024 * 1024


class BackupError(HubError):
    code = "backup_failed"
    http_status = 500


class NoRoom(BackupError):
    code = "no_room_for_backup"
    http_status = 507


@dataclass
class Backups:
    """Makes backups of one hub's data folder; one at a time."""

    data_dir: Path
    room: str
    made: int = 0
    last_error: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)  # one backup at a time

    @property
    def work(self) -> Path:
        return self.data_dir / WORK_FOLDER / "backups"

    def databases(self) -> list[str]:
        """The SQLite files under the data folder, as paths relative to it."""
        found = []
        for path in sorted(self.data_dir.rglob("*")):
            rel = path.relative_to(self.data_dir).as_posix()
            if rel.startswith(SKIPPED_PREFIXES) or path.is_symlink() or not path.is_file():
                continue
            if is_database(path):
                found.append(rel)
        return found

    def make(self, target: Path) -> dict[str, Any]:
        """Write the backup zip at ``target``; returns its manifest. Blocking: run it in a thread."""
        names = self.databases()
        needed = sum((self.data_dir / n).stat().st_size for n in names)
        target.parent.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(target.parent).free
        if free < 2 * needed + 16 * 1024 * 1024:  # a copy of the largest, and the zip
            raise NoRoom(f"a backup needs about {2 * needed // 2**20} MB free in {target.parent}, "
                         f"there are {free // 2**20} MB")  # fmt: skip
        files: list[dict[str, Any]] = []
        scratch = target.with_suffix(".db.part")
        try:
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
                for name in names:
                    scratch.unlink(missing_ok=True)
                    try:
                        version = backup(self.data_dir / name, scratch)
                    except StoreError as err:
                        raise BackupError(str(err)) from err
                    files.append({"path": name, "database": True, "schema_version": version,
                                  "bytes": scratch.stat().st_size, "sha256": _sha256(scratch)})  # fmt: skip
                    archive.write(scratch, name)
                labels = self.data_dir / LABELS_FILE
                if labels.is_file():
                    files.append({"path": LABELS_FILE, "database": False, "bytes": labels.stat().st_size,
                                  "sha256": _sha256(labels)})  # fmt: skip
                    archive.write(labels, LABELS_FILE)
                manifest = {"format": FORMAT, "version": 1, "hub_version": __version__, "room": self.room,
                            "made_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "files": files}  # fmt: skip
                archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        finally:
            scratch.unlink(missing_ok=True)
        self.made += 1
        return manifest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(_COPY):
            digest.update(block)
    return digest.hexdigest()


# --- restore (the CLI) -------------------------------------------------------------------------


@dataclass
class Restored:
    files: list[str] = field(default_factory=list)
    kept_in: Path | None = None  # where the replaced files went
    manifest: dict[str, Any] = field(default_factory=dict)


def hub_answers(host: str, port: int) -> bool:
    """Whether something listens on the hub's HTTP address (the hub must be stopped to restore)."""
    target = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    try:
        with socket.create_connection((target, port), timeout=1.0):
            return True
    except OSError:
        return False


def restore(bundle: Path, data_dir: Path) -> Restored:
    """Check every file of the backup ``bundle``, then put them in ``data_dir``; the files they
    replace (with their -wal and -shm) are moved to ``before-restore-<time>/``. Nothing is
    replaced unless every file checks out. The hub must be stopped."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    staging = data_dir / f"restore-{stamp}"
    try:
        archive = zipfile.ZipFile(bundle)
    except (OSError, zipfile.BadZipFile) as err:
        raise BackupError(f"{bundle}: not a readable zip file ({err})") from err
    with archive:
        try:
            manifest = json.loads(archive.read("manifest.json"))
        except (KeyError, ValueError) as err:
            raise BackupError(f"{bundle}: no readable manifest.json: not a classroom hub backup") from err
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{bundle}: manifest.json says format {manifest.get('format')!r}, not {FORMAT!r}")
        entries = manifest.get("files") or []
        staging.mkdir(parents=True)
        try:
            for entry in entries:
                _stage(archive, entry, staging, bundle)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    kept = data_dir / f"before-restore-{stamp}"
    done = Restored(manifest=manifest)
    for entry in entries:
        rel = entry["path"]
        for suffix in ("", "-wal", "-shm", "-journal"):
            current = data_dir / (rel + suffix)
            if current.exists():
                (kept / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(current, kept / (rel + suffix))
                done.kept_in = kept
        (data_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / rel, data_dir / rel)
        done.files.append(rel)
    shutil.rmtree(staging, ignore_errors=True)
    return done


def _stage(archive: zipfile.ZipFile, entry: dict[str, Any], staging: Path, bundle: Path) -> None:
    rel = str(entry.get("path", ""))
    parts = PurePosixPath(rel).parts
    if not rel or rel.startswith("/") or ".." in parts or "\\" in rel:
        raise BackupError(f"{bundle}: unsafe path {rel!r} in manifest.json")
    target = staging / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with archive.open(rel) as source, target.open("wb") as out:
            shutil.copyfileobj(source, out, _COPY)
    except KeyError as err:
        raise BackupError(f"{bundle}: {rel} is in manifest.json but not in the zip") from err
    if _sha256(target) != entry.get("sha256"):
        raise BackupError(f"{bundle}: {rel} is damaged (its SHA-256 differs from manifest.json)")
    if entry.get("database"):
        try:
            with contextlib.closing(sqlite3.connect(target)) as conn:
                verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.Error as err:
            raise BackupError(f"{bundle}: {rel} is not a readable database ({err})") from err
        if verdict != "ok":
            raise BackupError(f"{bundle}: {rel} fails SQLite's integrity check: {verdict}")

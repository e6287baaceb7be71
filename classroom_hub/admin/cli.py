"""``classroom-hub backup make|restore``: the hub's databases in one zip, and back (backups.py).

``make`` works while the hub runs (the same zip as the admin page's "Tải bản sao lưu");
``restore`` only while it is stopped, since it replaces the files the hub has open.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from classroom_hub.admin.backups import BackupError, Backups, hub_answers, restore
from config.loader import load_settings


def register(sub: Any) -> None:
    backup = sub.add_parser("backup", help="back up the hub's databases to a zip, or restore one")
    actions = backup.add_subparsers(metavar="ACTION")

    make = actions.add_parser("make", help="write a backup zip (the hub may be running)")
    make.add_argument("-c", "--config", required=True, help="the room file (TOML)")
    make.add_argument("--out", required=True, type=Path, help="the zip file to write")
    make.set_defaults(func=_make)

    back = actions.add_parser("restore", help="put a backup's databases back (stop the hub first)")
    back.add_argument("file", type=Path, help="the backup zip, from the admin page or `backup make`")
    back.add_argument("-c", "--config", required=True, help="the room file (TOML)")
    back.add_argument("--force", action="store_true", help="restore even though the hub's address answers")
    back.set_defaults(func=_restore)


def _make(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    if args.out.exists():
        print(f"{args.out}: already exists; name a new file", file=sys.stderr)
        return 2
    try:
        manifest = Backups(settings.data_dir, settings.room.id).make(args.out)
    except BackupError as err:
        print(f"backup failed: {err}", file=sys.stderr)
        return 1
    for entry in manifest["files"]:
        print(f"  {entry['path']}: {entry['bytes']} bytes")
    print(f"wrote {args.out}: {len(manifest['files'])} files")
    return 0


def _restore(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    if not args.force and hub_answers(settings.http.host, settings.http.port):
        print(f"the hub answers on {settings.http.host}:{settings.http.port}: stop it first "
              "(systemctl stop classroom-hub), or add --force if that is another program", file=sys.stderr)  # fmt: skip
        return 2
    try:
        done = restore(args.file, settings.data_dir)
    except BackupError as err:
        print(f"nothing restored: {err}", file=sys.stderr)
        return 1
    made = done.manifest.get("made_at", "?")
    print(f"restored {len(done.files)} files from {args.file} (made {made} in room {done.manifest.get('room')}):")
    for name in done.files:
        print(f"  {name}")
    if done.kept_in is not None:
        print(f"the files they replaced are in {done.kept_in}")
    print("start the hub again: systemctl start classroom-hub")
    return 0

"""Where the hub keeps its roster: one file, ``roster.sqlite3`` in the data folder.

``classroom-hub roster import``, the roster pull from the central database, the admin page's
upload and the running hub (lessons, ``/api/classes``) all open this one file; the hub reads it
at every request, so an import shows at once, without a restart.

Hubs before this version had two: the import and the pull wrote ``roster.db`` while lessons
read ``roster.sqlite3``. :func:`roster_path` moves an old ``roster.db`` into ``roster.sqlite3``
the first time it is asked (the hub at start, any command): the one with data wins, or the
newer of the two when both have some; the old file is kept as ``roster.db.migrated``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from classroom_hub.roster.cache import RosterCache
from classroom_hub.roster.errors import RosterError

log = logging.getLogger(__name__)

ROSTER_FILE = "roster.sqlite3"
OLD_ROSTER_FILE = "roster.db"  # before one file: written by `roster import` and the pull, never read by lessons


def roster_path(data_dir: Path) -> Path:
    """The roster file under ``data_dir``, with an old ``roster.db`` moved into it first."""
    path = data_dir / ROSTER_FILE
    old = data_dir / OLD_ROSTER_FILE
    if old.exists():
        migrate_old_roster(old, path)
    return path


def _modified(path: Path) -> float:
    times = [p.stat().st_mtime for p in (path, path.with_name(path.name + "-wal")) if p.exists()]
    return max(times, default=0.0)


def migrate_old_roster(old: Path, path: Path) -> bool:
    """Fold ``old`` into ``path`` and set it aside; returns whether ``path`` took its content."""
    new_time, old_time = _modified(path), _modified(old)
    try:
        with RosterCache(old) as source, RosterCache(path) as target:
            theirs, ours = source.counts(), target.counts()
            has_old, has_new = any(theirs.values()), any(ours.values())
            take = has_old and (not has_new or old_time > new_time)
            if take:
                target.replace(source.roster())
    except RosterError as err:
        log.error("event=roster_migration_failed old=%s new=%s error=%r", old, path, str(err))
        return False
    aside = old.with_name(old.name + ".migrated")
    try:
        os.replace(old, aside)
        for suffix in ("-wal", "-shm"):
            extra = old.with_name(old.name + suffix)
            if extra.exists():
                os.replace(extra, aside.with_name(aside.name + suffix))
    except FileNotFoundError:
        pass  # another process (the pusher, a command) moved it meanwhile
    log.info("event=roster_migrated old=%s new=%s took_old=%s old_counts=%s new_counts=%s kept_as=%s",
             old, path, take, theirs, ours, aside)  # fmt: skip
    return take

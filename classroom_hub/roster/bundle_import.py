"""A OneRoster bundle into the hub's roster: the one rule ``classroom-hub roster import`` and the
admin page's upload (classroom_hub/admin/rosters.py) both follow.

A clean bundle of whole files (``bulk``) replaces the roster. One with refused rows, or with
``delta`` files, only adds and updates: a person whose row was refused keeps their old record
rather than vanishing from their class, and a delta never removes what it does not mention.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from classroom_hub.roster.cache import RosterCache
from classroom_hub.roster.oneroster import ImportReport, import_oneroster


@dataclass(frozen=True, slots=True)
class RosterImport:
    report: ImportReport
    replaced: bool  # the whole roster was replaced; otherwise records were added or updated
    counts: dict[str, int]  # records written, per kind


def import_bundle(cache: RosterCache, bundle: Path | str) -> RosterImport:
    """Read ``bundle`` (a folder or .zip) and write it into ``cache``; raises BundleError when it
    cannot be read at all (then nothing is written). Blocking: call it from a thread in the hub."""
    report = import_oneroster(bundle)
    whole = report.ok and all(mode == "bulk" for mode in report.modes.values())
    counts = cache.replace(report.roster) if whole else cache.upsert(report.roster)
    return RosterImport(report, whole, counts)

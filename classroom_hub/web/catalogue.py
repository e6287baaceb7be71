"""The translations the pages read at ``/i18n/<lang>.json``: the core's catalogue merged with each
package's and each device kind's own (``<package>/i18n/{vi,en}.json``, named in its declaration).

A key may appear in two catalogues only with the same text (a command two kinds share, say);
two different texts for one key are a mistake the hub refuses at start.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from classroom_hub.packages import declared_packages
from device_drivers.kinds import declared_kinds

CORE = Path(__file__).parent / "i18n"
LANGUAGES = ("vi", "en")


class CatalogueError(Exception):
    """Two catalogues give one key different texts, or a catalogue is not a JSON object of strings."""


def folders() -> list[Path]:
    """The core's catalogue first, then each declared package's and device kind's."""
    found = [CORE]
    found += [p.translations for p in declared_packages().values() if p.translations is not None]
    found += [k.translations for k in declared_kinds().values() if k.translations is not None]
    return found


def catalogue(lang: str, where: Iterable[Path] | None = None) -> dict[str, str]:
    """Every string of ``lang``, merged from ``where`` (default: :func:`folders`)."""
    merged: dict[str, str] = {}
    origin: dict[str, Path] = {}
    for folder in folders() if where is None else where:
        path = folder / f"{lang}.json"
        if not path.is_file():
            continue
        strings = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(strings, dict) or not all(isinstance(v, str) for v in strings.values()):
            raise CatalogueError(f"{path}: must be a JSON object of strings")
        for key, text in strings.items():
            if key in merged and merged[key] != text:
                raise CatalogueError(f"{key!r} has two texts: in {origin[key]} and in {path}")
            merged[key] = text
            origin.setdefault(key, path)
    return merged

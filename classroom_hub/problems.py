"""A pydantic validation error in one line a person can act on: ``field.path: message; ...``
(list items as ``steps[3].choices``).

The one formatter of the hub: HTTP answers, rejected MQTT payloads, device commands and
settings files all describe a refused value this way. Imports nothing of the hub (drivers use it).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError


def where(loc: Sequence[int | str], root: str = "body") -> str:
    """``("devices", 3, "id")`` -> ``devices[3].id``; an empty path is the value as a whole (``root``).

    A part that is already an index (``"[2]"``) is kept as it is."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("["):
            out += part
        else:
            out += ("." if out else "") + printable(part)
    return out or root


def printable(text: str) -> str:
    """``text`` with its unprintable characters escaped (``\\n``, ``\\x1b``): field names come from
    the sender (a device, a tablet, a room file), and a newline or terminal escape in one must not
    break a log line or recolour a technician's console."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def describe(err: ValidationError, *, root: str = "body", limit: int | None = None) -> str:
    """Every problem (or the first ``limit``, then ``(+N more)``), each as ``field.path: message``."""
    errors = err.errors()
    shown = errors if limit is None else errors[:limit]
    text = "; ".join(f"{where(e['loc'], root)}: {printable(e['msg'].removeprefix('Value error, '))}" for e in shown)
    hidden = len(errors) - len(shown)
    return f"{text} (+{hidden} more)" if hidden else text

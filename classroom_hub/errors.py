"""One exception root for the hub; library errors are translated at the boundary with ``from err``.

Every package's own root (``LessonError``, ``LabError``, ``StudioError``, ``PtzError``,
``DriverError``, ``FrameError``, ``ConfigError``...) derives from :class:`HubError`, so the CLI
prints any of them as one line and the web's error middleware answers any of them with one
JSON body, ``{"error": code, "detail": text}``, and the class's HTTP status.

This module imports nothing of the hub: drivers, the configuration loader and every package
may import it.

An exception the hub cannot let through (a listener's bug, a failed best-effort write) is
never dropped silently: :func:`swallowed` logs it with its traceback and counts it by event,
and ``/metrics`` shows the counts (``classroom_hub_swallowed_errors_total``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)


class HubError(Exception):
    """Base of every error the hub raises on purpose.

    ``code`` is stable (pages, scripts and the translations branch on it; never rename one);
    ``http_status`` is what a web handler that lets the error escape answers.
    """

    code: str = "internal"
    http_status: int = 500

    @property
    def detail(self) -> str:
        """The text a person reads: what is wrong and where."""
        return str(self)

    def body(self) -> dict[str, Any]:
        """The JSON body of the HTTP answer (subclasses may add fields a page needs)."""
        return {"error": self.code, "detail": self.detail}


class BusError(HubError):
    """The MQTT link failed or is not connected."""

    code = "bus_down"
    http_status = 503


class CommandError(HubError):
    """A device command could not be completed."""

    code = "command_failed"
    http_status = 502


class CommandTimeout(CommandError):
    """No reply arrived before the command's deadline."""

    code = "no_reply"
    http_status = 504


class CommandFailed(CommandError):
    """The device replied with an error."""

    code = "device_refused"
    http_status = 502

    def __init__(self, device_id: str, name: str, error: str) -> None:
        super().__init__(f"{device_id}: {name} failed: {error}")
        self.device_id = device_id
        self.name = name
        self.error = error

    @property
    def detail(self) -> str:
        return self.error


class StoreError(HubError):
    """The telemetry store could not read or write."""

    code = "store_unavailable"
    http_status = 503


class AuthError(HubError):
    """Login or permission failure."""

    code = "auth_refused"
    http_status = 400


# --- exceptions the hub absorbs ----------------------------------------------------------------

SWALLOWED: Counter[str] = Counter()
"""How many exceptions each event absorbed since the process started (``/metrics``)."""


def swallowed(event: str, **fields: object) -> None:
    """Call inside an ``except``: log the exception being handled (with traceback) and count it."""
    _absorbed(event, fields, True)


def _absorbed(event: str, fields: dict[str, object], exc_info: bool | BaseException) -> None:
    SWALLOWED[event] += 1
    details = "".join(f" {key}={_plain(value)}" for key, value in fields.items())
    log.error("event=%s%s", event, details, exc_info=exc_info)


def _plain(value: object) -> str:
    text = str(value)
    return text if text and not any(c.isspace() or c in "='\"" for c in text) else repr(text)


def report_crash(event: str, **fields: object) -> Callable[[asyncio.Future[Any]], None]:
    """A done callback for a background task: if it ended with an exception (not cancelled), log it
    with its traceback and count it at once, not when its owner awaits it at shutdown."""

    def done(task: asyncio.Future[Any]) -> None:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            _absorbed(event, fields, error)

    return done


@contextmanager
def contained(event: str, **fields: object) -> Iterator[None]:
    """``with contained("event", key=value):`` runs the block; an ``Exception`` it raises is
    logged and counted (:func:`swallowed`), never propagated. For best-effort work only."""
    try:
        yield
    except Exception:
        swallowed(event, **fields)

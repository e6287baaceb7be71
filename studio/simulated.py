"""The studio's part in the demo: which of the room's devices the studio simulates itself, and
the booking page the welcome names.

A camera whose ``source`` is ``synthetic`` (its VISCA head and its picture) and a microphone
whose ``source`` is a test signal (``tone:440``, ``silence``) are simulated by the studio's own
parts while the hub runs (studio/cameras.py, studio/recording/audio.py): the demo has nothing to
start for them, and counts them as simulated. Light on imports: every room's demo asks.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractAsyncContextManager
from typing import Any

from device_drivers.kinds import Simulation


async def demo_links(app: Any, url: str) -> dict[str, str]:
    """Teachers book the studio on a page of its own (not a declared page: it checks its own login)."""
    return {"studio/book": f"{url}/studio/book"}


def simulate(device_id: str, device: Any, where: Simulation) -> AbstractAsyncContextManager[None] | None:
    source = str(getattr(device, "source", None) or "")
    if device.kind == "camera" and source.startswith("synthetic"):
        return contextlib.nullcontext()
    if device.kind == "audio" and (source.startswith("tone:") or source == "silence"):
        return contextlib.nullcontext()
    return None

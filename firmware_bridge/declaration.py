"""The serial kits' bridge declares itself to the hub (entry point ``kits``, classroom_hub/packages.py)."""

from __future__ import annotations

from pathlib import Path

from classroom_hub.packages import Package

PACKAGE = Package(
    name="kits",
    setup="firmware_bridge.part:setup",
    translations=Path(__file__).parent / "i18n",
    simulator="firmware_bridge.host_board:simulate",  # the demo's kits: the firmware, host-built, on a pty
)

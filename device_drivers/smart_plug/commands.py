"""A smart plug's commands (README.md): switch the outlet, ask its status, ping its agent."""

from __future__ import annotations

from device_drivers.commands import PING, STATUS, Arguments, CommandSpec


class Power(Arguments):
    on: bool


CATALOGUE: tuple[CommandSpec, ...] = (
    CommandSpec("power", Power, {"on": True}, done="switched"),
    STATUS,
    PING,
)

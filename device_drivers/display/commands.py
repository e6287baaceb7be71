"""The display's command catalogue: the driver's typed commands, and what the console offers."""

from __future__ import annotations

from pydantic import Field

from device_drivers.commands import Arguments, CommandSpec


class PowerCommand(Arguments):
    on: bool


class InputCommand(Arguments):
    source: str = Field(min_length=1, description="hdmi1, hdmi2, displayport, ops, ...")


class VolumeCommand(Arguments):
    level: int = Field(ge=0, le=100)


class MuteCommand(Arguments):
    on: bool


class StatusQuery(Arguments):
    pass


CATALOGUE: tuple[CommandSpec, ...] = (
    CommandSpec("power", PowerCommand, {"on": True}, done="switched"),
    CommandSpec("input", InputCommand, {"source": "hdmi1"}, done="switched input"),
    CommandSpec("volume", VolumeCommand, {"level": 50}, done="volume set"),
    CommandSpec("mute", MuteCommand, {"on": True}, done="muted/unmuted"),
    CommandSpec("status", StatusQuery, done="answered"),
)

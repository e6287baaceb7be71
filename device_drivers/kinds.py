"""Device kinds declare themselves: one folder each, named in the ``classroom_hub.device_kinds``
entry point group (pyproject.toml), found here.

A kind's declaration (``device_drivers/<kind>/kind.py``, :class:`DeviceKind`) is data: its
settings model (one ``[[devices]]`` table of the room file), its command catalogue, its Home
Assistant entities and, named by import path so that reading the declaration stays cheap,
the driver the hub runs for a wired device of the kind and the simulator the demo runs for
it. The hub's core asks :func:`declared_kinds` and never names a kind. A kind whose
declaration cannot be imported (a missing optional dependency) is left out and reported
(:func:`unavailable_kinds`); the other kinds work.
"""

from __future__ import annotations

import functools
import logging
import pkgutil
import re
import typing
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from classroom_hub.declarations import load_declared
from device_drivers.base import Driver, DriverError
from device_drivers.commands import AGENT_COMMANDS, CommandSpec
from device_drivers.entities import FIRMWARE, Entity
from device_drivers.settings import DeviceBase

log = logging.getLogger(__name__)

GROUP = "classroom_hub.device_kinds"
_KIND_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class SimulatorError(Exception):
    """A simulator cannot run here (a port taken, a tool missing); the demo goes on without it."""


@dataclass(frozen=True)
class Simulation:
    """Where a simulator runs: the room, its broker (None until the hub has one) and data folder."""

    room: str
    broker_url: str | None
    data_dir: Path


# simulate(device id, its settings, where) -> a running simulator for as long as the context lasts,
# or None when this simulator has nothing to offer for that device (another transport, say).
Simulate = Callable[[str, Any, Simulation], AbstractAsyncContextManager[None] | None]


@dataclass(frozen=True)
class DeviceKind:
    """What the hub knows of one kind of device, all of it from the kind's own folder."""

    name: str
    settings: type[DeviceBase]
    commands: tuple[CommandSpec, ...] = AGENT_COMMANDS
    entities: tuple[Entity, ...] = (FIRMWARE,)
    # Entities that depend on the device's own settings (a sensor node's sensors).
    device_entities: Callable[[Any], Sequence[Entity]] | None = None
    driver: str | None = None  # "module:Class" of the Driver the hub runs for a wired device
    simulator: str | None = None  # "module:function", a Simulate, for the demo and the benches
    simulate_before_hub: bool = False  # the hub finds a wired device at once if it is up first
    # On USB serial, a device of this kind is a kit of the reference firmware (firmware_bridge/):
    # this kit ("robot", "vinaponics"), which the bridge puts on the bus and the demo runs on a pty.
    serial_kit: str | None = None
    translations: Path | None = None  # a folder with vi.json and en.json

    def entities_of(self, device: Any) -> tuple[Entity, ...]:
        more = tuple(self.device_entities(device)) if self.device_entities is not None else ()
        return self.entities + more

    def command(self, name: str) -> CommandSpec | None:
        return next((c for c in self.commands if c.name == name), None)

    def load_driver(self) -> type[Driver]:
        if self.driver is None:
            raise DriverError(f"device kind {self.name!r} has no driver: the hub does not drive it itself")
        found = pkgutil.resolve_name(self.driver)
        if not (isinstance(found, type) and issubclass(found, Driver)):
            raise DriverError(f"device kind {self.name!r}: {self.driver} is not a Driver")
        return found

    def load_simulator(self) -> Simulate | None:
        if self.simulator is None:
            return None
        found: Simulate = pkgutil.resolve_name(self.simulator)
        return found


def kind_literal(settings: type[DeviceBase]) -> str | None:
    """The value of ``kind: Literal["..."]`` in a kind's settings model."""
    field = settings.model_fields.get("kind")
    args = typing.get_args(field.annotation) if field is not None else ()
    return args[0] if len(args) == 1 and isinstance(args[0], str) else None


def load_kinds(entries: Iterable[EntryPoint]) -> tuple[dict[str, DeviceKind], dict[str, str]]:
    """The declarations behind ``entries`` by name (sorted), and why the others could not load."""
    kinds, unavailable = load_declared(entries, "device_kind", _problem)
    return dict(sorted(kinds.items())), unavailable


def _problem(name: str, kind: Any, known: dict[str, DeviceKind]) -> str | None:
    if not isinstance(kind, DeviceKind):
        return f"declares {type(kind).__name__}, not a DeviceKind"
    if not _KIND_RE.match(name):
        return "a device kind's name must be lower_snake_case"
    literal = kind_literal(kind.settings)
    if kind.name != name or literal != name:
        return f"entry point {name!r}, declaration {kind.name!r} and settings kind {literal!r} differ"
    if name in known:
        return "declared twice"
    return None


@functools.cache
def _declared() -> tuple[dict[str, DeviceKind], dict[str, str]]:
    return load_kinds(entry_points(group=GROUP))


def declared_kinds() -> dict[str, DeviceKind]:
    """Every installed device kind that loads, by name."""
    return _declared()[0]


def unavailable_kinds() -> dict[str, str]:
    """Installed device kinds that cannot load, with the reason."""
    return _declared()[1]


@functools.cache
def command_spec(name: str) -> CommandSpec | None:
    """A command as the first declared kind that has it in its catalogue describes it."""
    return next((spec for kind in declared_kinds().values() for spec in kind.commands if spec.name == name), None)


def driver_for(kind: str) -> type[Driver]:
    """The driver class of a device kind, imported from its declaration on first use."""
    declared = declared_kinds().get(kind)
    if declared is None or declared.driver is None:
        known = ", ".join(name for name, k in declared_kinds().items() if k.driver is not None) or "none"
        reason = unavailable_kinds().get(kind)
        raise DriverError(f"no driver for device kind {kind!r} (known: {known})" + (f"; it {reason}" if reason else ""))
    try:
        return declared.load_driver()
    except ImportError as err:
        raise DriverError(f"the driver for device kind {kind!r} cannot load: {err}") from err

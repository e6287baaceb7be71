"""The one small interface every destination implements, and loading them by kind.

A destination module imports its client library (asyncpg, aiohttp) at the top. It is
imported only when a room file names that kind, and an ImportError turns into
:class:`DestinationUnavailable`: a hub without asyncpg still pushes to its LRS.

Rows come straight from the store (``read_after``), so their layout is the store's:

- statements:    (seq, id, stored_at, body)                       body = the statement as JSON text
- readings:      (seq, device_id, key, ts, value, unit, samples)  ts in Unix seconds
- device_events: (seq, device_id, ts, type, data)                 data = JSON text
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from classroom_hub.pusher.errors import DestinationUnavailable
from classroom_hub.pusher.settings import PushDestination

Row = tuple[Any, ...]


@dataclass(frozen=True)
class HubIdentity:
    """What the hub adds to every record it delivers: where it comes from."""

    hub_id: str
    school_code: str
    room_id: str
    device_kinds: dict[str, str] = field(default_factory=dict)  # device id -> kind, for the devices table


@dataclass(frozen=True, slots=True)
class Delivery:
    new: int  # stored by this call
    already: int  # the destination had them already (a redelivery)


class Destination(ABC):
    """Somewhere the hub's records go. ``deliver`` is all-or-nothing for the rows it is given."""

    kind: ClassVar[str]

    def __init__(self, options: PushDestination, hub: HubIdentity) -> None:
        self.options = options
        self.name = options.name
        self.hub = hub
        self.streams: tuple[str, ...] = options.stream_list()

    @abstractmethod
    async def open(self) -> None:
        """Connect; raises Unreachable if the destination cannot be reached."""

    @abstractmethod
    async def close(self) -> None:
        """Let go of connections; safe to call twice or after a failed open."""

    @abstractmethod
    async def deliver(self, stream: str, rows: Sequence[Row]) -> Delivery:
        """Store ``rows`` idempotently (all of them, or none): raises Unreachable or Rejected."""

    def describe(self) -> str:
        """Where it is, without secrets."""
        return self.kind


# kind -> (module, class, the package a missing import most likely means)
KINDS: dict[str, tuple[str, str, str]] = {
    "postgres": ("classroom_hub.pusher.postgres", "PostgresDestination", "asyncpg"),
    "xapi": ("classroom_hub.pusher.xapi", "XapiDestination", "aiohttp"),
    "sqlite": ("classroom_hub.pusher.sqlite_file", "SqliteFileDestination", "sqlite3"),
}


def load_destination(options: PushDestination, hub: HubIdentity) -> Destination:
    """The destination for ``options``; DestinationUnavailable if its library is missing on this hub."""
    module_name, class_name, package = KINDS[options.kind]
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise DestinationUnavailable(
            f"destination {options.name!r} ({options.kind}) is disabled: the Python package {package!r} "
            f"is not installed ({err}); install it with `pip install {package}`"
        ) from err
    cls: type[Destination] = getattr(module, class_name)
    return cls(options, hub)

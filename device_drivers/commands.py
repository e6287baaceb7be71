"""A device kind's command catalogue: which commands its devices take, with what arguments.

One catalogue per kind, in its folder. The technician page reads it
(``GET /api/device-kinds``) to offer the commands and pre-fill their arguments (their labels
are in the kind's translations, ``fleet.cmd.<name>``); a wired kind's driver takes its typed
command models from it (``Driver.commands``); the fleet reads each command's summary word
and time limit from it. Nothing here depends on the hub.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict


class Arguments(BaseModel):
    """Base of a command's arguments: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoArguments(Arguments):
    pass


@dataclass(frozen=True)
class CommandSpec:
    """One command of a kind's catalogue."""

    name: str
    args: type[BaseModel] = NoArguments
    example: Mapping[str, Any] = field(default_factory=dict)  # what the technician page pre-fills
    done: str = "done"  # what the fleet's summary says it did: "38/40 launched"
    timeout_s: float | None = None  # None: the fleet's default

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "example": dict(self.example), "done": self.done,
                "args": self.args.model_json_schema()}  # fmt: skip


# What every device agent answers (docs/devices.md): the catalogue of a kind that says nothing else.
STATUS = CommandSpec("status", done="answered")
PING = CommandSpec("ping", done="answered")
AGENT_COMMANDS: tuple[CommandSpec, ...] = (STATUS, PING)


def models(catalogue: Iterable[CommandSpec]) -> dict[str, type[BaseModel]]:
    """Command name -> its arguments' model, as a driver's ``commands`` wants it."""
    return {spec.name: spec.args for spec in catalogue}

"""Packages declare themselves: each names one :class:`Package` in the ``classroom_hub.packages``
entry point group (pyproject.toml), found here. The core names none of them.

A declaration is data (the way Home Assistant's integrations have a manifest): the package's
name, the packages whose setup must run before its own (``after``), its ``setup(app)``, its
section of the room file (a settings model, checked by ``check-config``, overridable from
``CLASSROOM_HUB_<SECTION>__<FIELD>``), its CLI commands, its pages with the roles that may open
them, its translations, its simulator for the demo and its figures for ``/metrics``. What
is imported only when used is named by import path (``"studio.web:setup"``), so reading the
declarations stays cheap and a package whose code needs a missing optional dependency
(OpenCV for the studio) is reported when it is set up; the rest of the hub runs.
"""

from __future__ import annotations

import functools
import graphlib
import logging
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from classroom_hub.declarations import load_declared

if TYPE_CHECKING:
    from config.settings import HubSettings

log = logging.getLogger(__name__)

GROUP = "classroom_hub.packages"
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Page:
    """A page the package serves at ``/<name>`` (``classroom_hub/web/static/<name>.html``) to
    the signed-in roles named (an admin opens every page); anyone else goes to the login form."""

    name: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    """The package's ``[name]`` table of the room file. Every field of ``model`` has a default:
    a room file without the table gets them (the section is optional)."""

    name: str
    model: type[BaseModel]
    # An older separate file (relative to data_dir) still read, with a warning, while the
    # room file has no such section: kept for one release after the move.
    old_file: str | None = None


@dataclass(frozen=True)
class Package:
    name: str
    setup: str  # "module:function", called with the application once, when the hub is built
    after: tuple[str, ...] = ()  # packages whose setup (and so whose parts) come first
    settings: Section | None = None
    cli: str | None = None  # "module:function", given argparse's subparsers to add commands
    pages: tuple[Page, ...] = ()
    translations: Path | None = None  # a folder with vi.json and en.json
    simulator: str | None = None  # "module:function", a device_drivers.kinds.Simulate for the demo
    metrics: str | None = None  # "module:function", async (app, Exposition) -> None, for /metrics
    demo_links: str | None = None  # "module:function", async (app, url) -> {page: address} the demo prints
    # Whether this room needs the package (default: yes). A package it does not need and that
    # cannot be imported is not reported as a fault (a classroom without the studio's OpenCV).
    needed: Callable[[HubSettings], bool] | None = None
    summary: Callable[[HubSettings], list[str]] | None = None  # lines for `check-config`
    demo_settings: Callable[[Any, Path], Any] | None = None  # its section as the demo runs it

    def is_needed(self, settings: HubSettings) -> bool:
        return self.needed is None or self.needed(settings)


def resolve(reference: str) -> Any:
    """``"module:attribute"`` -> the attribute, importing the module (ImportError if it cannot)."""
    return pkgutil.resolve_name(reference)


def load_packages(entries: Iterable[EntryPoint]) -> tuple[dict[str, Package], dict[str, str]]:
    """The declarations behind ``entries`` in setup order, and why the others could not load."""
    found, unavailable = load_declared(entries, "package", _problem)
    return {name: found[name] for name in _setup_order(found, unavailable)}, unavailable


def _problem(name: str, package: Any, known: dict[str, Package]) -> str | None:
    if not isinstance(package, Package):
        return f"declares {type(package).__name__}, not a Package"
    if package.name != name or not _NAME_RE.match(name):
        return f"entry point {name!r} and declaration {package.name!r} must be one lower_snake_case name"
    if name in known:
        return "declared twice"
    return None


def _setup_order(packages: dict[str, Package], unavailable: dict[str, str]) -> list[str]:
    """Every package after those it names in ``after``; otherwise by name, so the order is stable."""
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for name in sorted(packages):
        needs = [n for n in packages[name].after if n in packages]
        missing = [n for n in packages[name].after if n not in packages and n not in unavailable]
        if missing:
            log.warning("event=package_after_unknown package=%s after=%s", name, ",".join(missing))
        sorter.add(name, *needs)
    order: list[str] = []
    ready: set[str] = set()
    sorter.prepare()  # graphlib.CycleError names a cycle of `after`s
    while sorter.is_active():
        ready.update(sorter.get_ready())
        first = min(ready)
        ready.remove(first)
        order.append(first)
        sorter.done(first)
    return order


@functools.cache
def _declared() -> tuple[dict[str, Package], dict[str, str]]:
    return load_packages(entry_points(group=GROUP))


def declared_packages() -> dict[str, Package]:
    """Every installed package that loads, in setup order."""
    return _declared()[0]


def unavailable_packages() -> dict[str, str]:
    """Installed packages whose declaration cannot load, with the reason."""
    return _declared()[1]

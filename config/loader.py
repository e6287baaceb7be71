"""Load a room file and explain every problem in words a technician can act on."""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from classroom_hub.errors import HubError
from classroom_hub.packages import declared_packages
from classroom_hub.problems import where
from config.settings import HubSettings, device_kinds
from device_drivers.kinds import unavailable_kinds
from device_drivers.settings import TRANSPORTS

log = logging.getLogger(__name__)

ENV_PREFIX = "CLASSROOM_HUB_"


class ConfigError(HubError):
    """The room file (or an environment override) is not usable; ``problems`` lists each one."""

    code = "bad_config"
    http_status = 500

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = list(problems)
        super().__init__("\n".join(f"{path}: {p}" for p in self.problems))


def load_settings(path: Path | str, warnings: list[str] | None = None) -> HubSettings:
    """Read ``path`` (TOML), apply ``CLASSROOM_HUB_*`` overrides and validate. What the
    technician should know but does not stop the hub (an old settings file still read) is
    logged and added to ``warnings``."""
    path = Path(path)
    raw = _read(path, path)
    # Relative data directories are relative to where the hub is started, like every CLI tool.
    settings = _validate(path, raw)
    old_files = _old_section_files(settings, raw)
    for name, old in old_files.items():
        raw[name] = _read(old, old)
        _warn(warnings, f"{old}: these settings belong in the room file now, as its [{name}] section: "
                        f"move them under a [{name}] heading in {path} and delete {old} "
                        "(still read, for one more release)")  # fmt: skip
    return _validate(path, raw, old_files) if old_files else settings


def _read(path: Path, shown: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(shown, ["file not found"]) from err
    except UnicodeDecodeError as err:
        raise ConfigError(shown, [f"not UTF-8 text (byte {err.start})"]) from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(shown, [f"not valid TOML: {err}"]) from err
    except RecursionError as err:  # tomllib recurses once per nested array or inline table
        raise ConfigError(shown, ["not valid TOML: nested too deeply"]) from err


def _validate(path: Path, raw: dict[str, Any], old_files: dict[str, Path] | None = None) -> HubSettings:
    # pydantic-settings reads keyword arguments starting with "_" as its own options
    # (_env_file, _secrets_dir, _cli_parse_args...): from a room file they are unknown fields.
    private = [f"{where([key], '<file>')}: unknown field (a typo?)" for key in raw if key.startswith("_")]
    if private:
        raise ConfigError(path, private)
    try:
        settings = HubSettings(**raw)
    except ValidationError as err:
        raise ConfigError(path, [_describe(e, raw, old_files or {}) for e in err.errors()]) from err
    unusable = [f"{where(loc, '<file>')}: a path cannot hold the character U+0000" for loc in _nul_paths(settings, [])]
    if unusable:
        raise ConfigError(path, unusable)
    return settings


def _nul_paths(value: Any, loc: list[Any]) -> Iterator[list[Any]]:
    """Where a path holds U+0000, which pydantic accepts and every file system call refuses."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _nul_paths(getattr(value, name), [*loc, name])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_paths(item, [*loc, index])
    elif isinstance(value, Path) and "\x00" in str(value):
        yield loc


def _old_section_files(settings: HubSettings, raw: dict[str, Any]) -> dict[str, Path]:
    """Sections a package kept in a file of its own before (``<data_dir>/studio/studio.toml``) and
    the room file does not have: the old file is read in their place, for one release."""
    found: dict[str, Path] = {}
    for package in declared_packages().values():
        section = package.settings
        if section is None or section.old_file is None:
            continue
        old = settings.data_dir / section.old_file
        if not old.is_file():
            continue
        if section.name in raw:
            log.warning("event=settings_file_ignored file=%s reason='the room file has a [%s] section: "
                        "delete the file'", old, section.name)  # fmt: skip
            continue
        found[section.name] = old
    return found


def _warn(warnings: list[str] | None, message: str) -> None:
    log.warning("event=settings_file_moved detail=%r", message)
    if warnings is not None:
        warnings.append(message)


def _describe(error: Any, raw: dict[str, Any], old_files: dict[str, Path]) -> str:
    loc = list(error["loc"])
    kinds = device_kinds()
    # For devices, pydantic puts the discriminator value into the path: drop it, it is
    # noise for a reader ("devices[3].tablet.id" -> "devices[3].id").
    if len(loc) >= 3 and loc[0] == "devices" and isinstance(loc[1], int) and loc[2] in kinds:
        del loc[2]
    # Same for transports ("...transport.serial.port" -> "...transport.port").
    for i in range(len(loc) - 1):
        if loc[i] == "transport" and loc[i + 1] in TRANSPORTS:
            del loc[i + 1]
            break
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "union_tag_invalid" and loc and loc[0] == "devices":
        kind = error["input"].get("kind")
        message = f"unknown device kind {kind!r}; known: {', '.join(kinds)}"
        if kind in unavailable_kinds():
            message += f" (kind {kind!r} is installed but {unavailable_kinds()[kind]})"
    elif error["type"] == "union_tag_not_found" and loc and loc[0] == "devices":
        message = f"missing 'kind' (one of: {', '.join(kinds)})"
    elif error["type"] == "extra_forbidden":
        message = "unknown field (a typo?)"
    env = _env_name(loc)
    source = f" (from environment variable {env})" if env in os.environ else ""
    if not source and loc and loc[0] in old_files:
        source = f" (from {old_files[loc[0]]})"
    return f"{where(loc, '<file>')}: {message}{source}"


def _env_name(loc: list[Any]) -> str:
    return ENV_PREFIX + "__".join(str(p).upper() for p in loc if not isinstance(p, int))

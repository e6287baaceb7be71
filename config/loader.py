"""Load a room file and explain every problem in words a technician can act on."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from classroom_hub.errors import HubError
from classroom_hub.problems import where
from config.settings import DEVICE_KINDS, HubSettings

ENV_PREFIX = "CLASSROOM_HUB_"


class ConfigError(HubError):
    """The room file (or an environment override) is not usable; ``problems`` lists each one."""

    code = "bad_config"
    http_status = 500

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = list(problems)
        super().__init__("\n".join(f"{path}: {p}" for p in self.problems))


def load_settings(path: Path | str) -> HubSettings:
    """Read ``path`` (TOML), apply ``CLASSROOM_HUB_*`` overrides and validate."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(path, ["file not found"]) from err
    except UnicodeDecodeError as err:
        raise ConfigError(path, [f"not UTF-8 text (byte {err.start})"]) from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(path, [f"not valid TOML: {err}"]) from err
    except RecursionError as err:  # tomllib recurses once per nested array or inline table
        raise ConfigError(path, ["not valid TOML: nested too deeply"]) from err
    # pydantic-settings reads keyword arguments starting with "_" as its own options
    # (_env_file, _secrets_dir, _cli_parse_args...): from a room file they are unknown fields.
    private = [f"{where([key], '<file>')}: unknown field (a typo?)" for key in raw if key.startswith("_")]
    if private:
        raise ConfigError(path, private)
    # Relative data directories are relative to where the hub is started, like every CLI tool.
    try:
        settings = HubSettings(**raw)
    except ValidationError as err:
        raise ConfigError(path, [_describe(e, raw) for e in err.errors()]) from err
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


def _describe(error: Any, raw: dict[str, Any]) -> str:
    loc = list(error["loc"])
    # For devices, pydantic puts the discriminator value into the path: drop it, it is
    # noise for a reader ("devices[3].tablet.id" -> "devices[3].id").
    if len(loc) >= 3 and loc[0] == "devices" and isinstance(loc[1], int) and loc[2] in DEVICE_KINDS:
        del loc[2]
    # Same for transports ("...transport.serial.port" -> "...transport.port").
    for i in range(len(loc) - 1):
        if loc[i] == "transport" and loc[i + 1] in ("mqtt", "serial", "tcp", "udp"):
            del loc[i + 1]
            break
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "union_tag_invalid" and loc and loc[0] == "devices":
        message = f"unknown device kind {error['input'].get('kind')!r}; known: {', '.join(DEVICE_KINDS)}"
    elif error["type"] == "union_tag_not_found" and loc and loc[0] == "devices":
        message = f"missing 'kind' (one of: {', '.join(DEVICE_KINDS)})"
    elif error["type"] == "extra_forbidden":
        message = "unknown field (a typo?)"
    env = _env_name(loc)
    source = f" (from environment variable {env})" if env in os.environ else ""
    return f"{where(loc, '<file>')}: {message}{source}"


def _env_name(loc: list[Any]) -> str:
    return ENV_PREFIX + "__".join(str(p).upper() for p in loc if not isinstance(p, int))

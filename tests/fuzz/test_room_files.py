"""Room files (TOML): whatever a technician types, a copy damaged on a USB stick, or a stranger's file.

``load_settings`` gets random TOML documents, the example rooms of config/examples/ with
values changed for hostile ones, and their text cut, doubled and flipped. It returns
settings the hub can run with (every device id expands, every number is finite, every
path can name a file, the summary of ``check-config`` prints) or raises a
:class:`ConfigError` whose every line names the file and the field.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from classroom_hub.cli import summarise
from config.loader import ConfigError, load_settings
from config.settings import HubSettings
from tests.fuzz.profile import counted, fuzz
from tests.fuzz.strategies import NASTY_TEXTS, damage, mutate

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "examples"
ROOMS = {path.name: path.read_text(encoding="utf-8") for path in sorted(EXAMPLES.glob("*.toml"))}
ROOM_DICTS = [tomllib.loads(text) for text in ROOMS.values()]

TEMPLATES = ["T{:02d}", "T{}", "{0[0]}", "{0.real}", "{0.x}", "{}{}", "{1}", "{x}", "{:s}", "{!r}", "{0!z}",
             "{:c}", "{:,}", "{:>40}", "%d", "{{}}", "T{:02d}{}", "{", "}", "{:{}}", "T{:099}"]  # fmt: skip


# --- TOML text -------------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    """``value`` in TOML; tables inline, so a whole document fits the ``key = value`` form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON's escapes are TOML's, \ud800 included (which TOML refuses)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    return '""'  # None: TOML has no null


def toml_document(values: Any) -> str:
    if not isinstance(values, dict):
        values = {"value": values}
    return "".join(f"{json.dumps(str(key))} = {toml_value(value)}\n" for key, value in values.items())


TOML_SCALARS = st.one_of(
    st.booleans(),
    st.integers(),
    st.sampled_from([2**63, -(2**63) - 1, 10**400, 0, -1, 65536, 500, 501]),
    st.floats(),
    st.sampled_from([math.inf, -math.inf, math.nan, 1e-320]),
    st.text(max_size=30),
    st.sampled_from(NASTY_TEXTS + TEMPLATES),
    st.datetimes(timezones=st.none() | st.just(dt.UTC)),
    st.dates(),
    st.times(),
)
TOML_VALUES = st.recursive(
    TOML_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def room_texts(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind < 5:  # an example room with values changed for hostile ones
        room = mutate(draw, draw(st.sampled_from(ROOM_DICTS)), TOML_VALUES)
        if draw(st.booleans()) and isinstance(room, dict) and isinstance(room.get("devices"), list):
            devices = room["devices"]
            if devices and isinstance(devices[0], dict):
                devices[0] = {**devices[0], "id": draw(st.sampled_from(TEMPLATES)), "count": draw(st.integers(1, 3))}
        return toml_document(room).encode("utf-8", "surrogatepass")
    if kind < 8:  # an example room's text, damaged
        return damage(draw, draw(st.sampled_from(list(ROOMS.values()))).encode())
    if kind == 8:
        return toml_document(draw(TOML_VALUES)).encode("utf-8", "surrogatepass")
    return draw(st.sampled_from([b"a = " + b"[" * 5000 + b"]" * 5000, b"a = " + b"{b = " * 3000 + b"1" + b"}" * 3000,
                                 b"\xff\xfe", b"[room]\n[room]\n", b"_env_file = '/etc/passwd'\n"]))  # fmt: skip


# --- the property ----------------------------------------------------------------------------

_cases = itertools.count()


def _numbers(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [n for item in value.values() for n in _numbers(item)]
    if isinstance(value, list | tuple):
        return [n for item in value for n in _numbers(item)]
    return []


def _paths(value: Any) -> list[Path]:
    if isinstance(value, Path):
        return [value]
    if isinstance(value, dict):
        return [p for item in value.values() for p in _paths(item)]
    if isinstance(value, list | tuple):
        return [p for item in value for p in _paths(item)]
    return []


def check_room_file(path: Path) -> HubSettings | None:
    try:
        settings = load_settings(path)
    except ConfigError as err:
        assert err.problems and err.path == path
        for line in str(err).splitlines():
            assert line.startswith(f"{path}: ") and len(line) > len(f"{path}: "), line
        return None
    ids = [device_id for device_id, _ in settings.device_list()]
    assert len(ids) == len(set(ids)), "device ids repeat"
    assert all(isinstance(device_id, str) and device_id for device_id in ids)
    values = settings.model_dump()
    assert all(math.isfinite(n) for n in _numbers(values)), "a number that is not finite"
    assert all("\x00" not in str(p) for p in _paths(values)), "a path no file can have"
    assert summarise(settings, path)  # what check-config prints
    return settings


@example(b"a = " + b"[" * 5000 + b"]" * 5000)  # RecursionError from tomllib before the fix
@example(b'_env_file = "/etc/passwd"\n[room]\nschool_code = "A"\nid = "r"\nname = "n"\n')
@example(b'[room]\nschool_code = "A"\nid = "r"\nname = "n"\n[[devices]]\nkind = "tablet"\nid = "{0[0]}"\ncount = 2\n')
@example(b'[room]\nschool_code = "A"\nid = "r"\nname = "n"\n[[devices]]\nkind = "tablet"\nid = "{0.x}"\ncount = 2\n')
@example(b'[room]\nschool_code = "A"\nid = "r"\nname = "n"\n[mqtt]\nreconnect_max_s = inf\n')
@example(b'data_dir = "var/\\u0000hub"\n[room]\nschool_code = "A"\nid = "r"\nname = "n"\n')
@fuzz(ci=300)
@given(room_texts())
@counted("room TOML files")
def test_a_room_file_gives_settings_the_hub_runs_with_or_a_config_error_naming_the_field(
    tmp_path: Path, data: bytes
) -> None:
    path = tmp_path / f"room-{next(_cases)}.toml"
    path.write_bytes(data)
    check_room_file(path)


@pytest.mark.parametrize("name", sorted(ROOMS))
def test_every_example_room_passes_the_same_checks(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(ROOMS[name], encoding="utf-8")
    assert check_room_file(path) is not None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a = " + "[" * 5000 + "]" * 5000, "not valid TOML: nested too deeply"),
        ('_env_file = "/etc/passwd"', "_env_file: unknown field (a typo?)"),
        ('[[devices]]\nkind = "tablet"\nid = "{0[0]}"\ncount = 2', "devices[0]: with count=2, id must be a"),
        ('[[devices]]\nkind = "tablet"\nid = "{:>999999999}"\ncount = 2', "devices[0]: with count=2, id must be a"),
        ("[mqtt]\nreconnect_max_s = inf", "mqtt.reconnect_max_s: Input should be a finite number"),
        ('data_dir = "var/\\u0000hub"', "data_dir: a path cannot hold the character U+0000"),
        ('"\\u001b[31mred" = 1', "\\x1b[31mred: unknown field (a typo?)"),  # no escape reaches the terminal
        ('"\\u0085" = false', "\\x85: unknown field (a typo?)"),  # nor a line break
    ],
)
def test_room_files_that_once_crashed_or_misled_the_hub(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "room.toml"
    room = '[room]\nschool_code = "A"\nid = "r"\nname = "n"\n'
    path.write_text(text + "\n" + room if not text.startswith("[") else room + text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems

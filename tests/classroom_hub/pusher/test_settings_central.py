"""The room file's [central] section: destinations checked with messages a technician can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.loader import ConfigError, load_settings

ROOM = '[room]\nschool_code = "THCS-DEMO"\nid = "lop-7a"\nname = "Lớp 7A"\n'


def _load(tmp_path: Path, central: str) -> object:
    path = tmp_path / "room.toml"
    path.write_text(ROOM + central, encoding="utf-8")
    return load_settings(path)


def _problems(tmp_path: Path, central: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, central)
    return info.value.problems


def test_destinations_of_each_kind_and_the_old_shorthands(tmp_path: Path) -> None:
    settings = _load(tmp_path, """
[central]
postgres_dsn = "postgresql://hub:pw@central.example.vn/edu"
xapi_url = "https://lrs.example.vn/xAPI"
xapi_token = "t0ken"
[[central.destinations]]
name = "demo-file"
kind = "sqlite"
path = "var/demo/central.db"
""")
    destinations = settings.central.destination_list()  # type: ignore[attr-defined]
    assert [(d.name, d.kind, d.stream_list()) for d in destinations] == [
        ("demo-file", "sqlite", ("statements", "readings", "device_events")),
        ("central", "postgres", ("statements", "readings", "device_events")),
        ("lrs", "xapi", ("statements",)),
    ]
    assert settings.central.roster_source().get_secret_value().startswith("postgresql://hub:pw@")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("central", "expected"),
    [
        ('[[central.destinations]]\nname = "c"\nkind = "postgres"\n', "a postgres destination needs 'dsn'"),
        ('[[central.destinations]]\nname = "c"\nkind = "postgres"\ndsn = "mysql://x"\n', "dsn must start with"),
        ('[[central.destinations]]\nname = "l"\nkind = "xapi"\nurl = "https://l/x"\nstreams = ["readings"]\n',
         "a xapi destination cannot store readings"),
        ('[[central.destinations]]\nname = "l"\nkind = "xapi"\nurl = "https://l/x"\nusername = "hub"\n',
         "username and password go together"),
        ('[[central.destinations]]\nname = "l"\nkind = "xapi"\nurl = "https://l/x"\npseudonymise = true\n',
         "set central.pseudonym_key"),
        ('[[central.destinations]]\nname = "f"\nkind = "sqlite"\npath = "a.db"\nurl = "https://x"\n',
         "'url' does not apply to a sqlite destination"),
        ('postgres_dsn = "postgresql://a/b"\n[[central.destinations]]\nname = "central"\nkind = "sqlite"\n'
         'path = "a.db"\n', "destination name 'central' is used twice"),
        ('[[central.destinations]]\nname = "c"\nkind = "postgres"\ndsn = "postgresql://a/b"\nbatch = 5\n',
         "unknown field"),
        ("disk_budget_mb = 4\n", "greater than or equal to 16"),
    ],
)
def test_mistakes_are_explained(tmp_path: Path, central: str, expected: str) -> None:
    problems = _problems(tmp_path, "[central]\n" + central)
    assert any(expected in p for p in problems), problems

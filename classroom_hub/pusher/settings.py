"""The pusher's section of the room file, ``[central]``: where the hub delivers what it
records (docs/central-database.md, docs/privacy.md), and where it gets rosters and lesson
materials from. Other packages read it through :func:`central_of` (the xAPI home page)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from config.options import ID_PATTERN, Option

if TYPE_CHECKING:
    from config.settings import CoreSettings

log = logging.getLogger(__name__)

SECTION = "central"


StreamName = Literal["statements", "readings", "device_events"]
DestinationKind = Literal["postgres", "xapi", "sqlite"]
# What each kind of destination can store; an LRS only takes learning statements.
DESTINATION_STREAMS: dict[str, tuple[str, ...]] = {
    "postgres": ("statements", "readings", "device_events"),
    "sqlite": ("statements", "readings", "device_events"),
    "xapi": ("statements",),
}


class PushDestination(Option):
    """One place the pusher delivers the hub's records to (docs/central-database.md, docs/privacy.md)."""

    name: str = Field(pattern=ID_PATTERN, description="shown by `push status`; keys the outbox cursor: never rename")
    kind: DestinationKind
    enabled: bool = True
    dsn: SecretStr | None = Field(None, description="postgres: postgresql://user:password@host:5432/db")
    url: str | None = Field(None, description="xapi: the LRS endpoint, e.g. https://lrs.example.vn/xAPI")
    path: Path | None = Field(None, description="sqlite: the database file to write")
    username: str | None = Field(None, description="xapi: HTTP basic authentication")
    password: SecretStr | None = None
    token: SecretStr | None = Field(None, description="xapi: bearer token (instead of username/password)")
    ca_file: Path | None = Field(None, description="xapi: CA bundle for a private certificate authority")
    verify_tls: bool = Field(True, description="xapi: check the LRS certificate; turn off only on a test bench")
    streams: list[StreamName] | None = Field(None, description="default: every stream the kind can store")
    batch_size: int = Field(1000, ge=1, le=50_000)
    timeout_s: float = Field(30.0, gt=0, le=600)
    pseudonymise: bool = Field(
        False, description="replace actors by keyed pseudonyms: for destinations outside the province"
    )

    @model_validator(mode="after")
    def _fields_of_kind(self) -> PushDestination:
        needs = {"postgres": "dsn", "xapi": "url", "sqlite": "path"}[self.kind]
        if getattr(self, needs) is None:
            example = {
                "dsn": "dsn = \"postgresql://hub:PASSWORD@central.example.vn:5432/edu\"",
                "url": "url = \"https://lrs.example.vn/xAPI\"",
                "path": "path = \"var/hub/central.db\"",
            }[needs]
            raise ValueError(f"a {self.kind} destination needs '{needs}', e.g. {example}")
        for other in {"dsn", "url", "path"} - {needs}:
            if getattr(self, other) is not None:
                raise ValueError(f"'{other}' does not apply to a {self.kind} destination (it uses '{needs}')")
        if self.dsn is not None and not re.match(r"^postgres(ql)?://", self.dsn.get_secret_value()):
            raise ValueError("dsn must start with postgresql:// (e.g. postgresql://hub:PASSWORD@host:5432/edu)")
        if self.url is not None and not re.match(r"^https?://[^/\s]+", self.url):
            raise ValueError("url must start with https:// (or http:// on a test bench)")
        if self.kind != "xapi" and (self.username or self.password or self.token or self.ca_file):
            raise ValueError("username, password, token and ca_file apply to xapi destinations only")
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together (HTTP basic authentication)")
        if self.username is not None and self.token is not None:
            raise ValueError("give either username/password or token, not both")
        allowed = DESTINATION_STREAMS[self.kind]
        wrong = [s for s in self.streams or () if s not in allowed]
        if wrong:
            raise ValueError(f"a {self.kind} destination cannot store {', '.join(wrong)} (only {', '.join(allowed)})")
        return self

    def stream_list(self) -> tuple[str, ...]:
        allowed = DESTINATION_STREAMS[self.kind]
        return allowed if self.streams is None else tuple(s for s in allowed if s in self.streams)


class Central(Option):
    """Where the hub delivers what it records, and where it gets rosters and lesson materials from."""

    destinations: list[PushDestination] = Field(default_factory=list)
    # Shorthands kept from the first room files: a PostgreSQL destination named "central"
    # and an LRS named "lrs" (prefer [[central.destinations]]).
    postgres_dsn: SecretStr | None = None
    xapi_url: str | None = None
    xapi_username: str | None = None
    xapi_password: SecretStr | None = None
    xapi_token: SecretStr | None = None

    hub_id: str | None = Field(None, pattern=ID_PATTERN, description="default: hub-<school_code>-<room id>")
    retry_min_s: float = Field(1.0, gt=0, description="first wait after a failed delivery; doubles up to retry_max_s")
    retry_max_s: float = Field(300.0, gt=0)
    idle_check_s: float = Field(5.0, ge=0.05, le=600, description="how often an idle destination looks for new rows")
    disk_budget_mb: int = Field(2048, ge=16, description="the most the telemetry store may use on disk")
    disk_alarm_percent: int = Field(70, ge=10, le=95, description="alarm the technician at this share of the budget")
    downsample_after_days: float = Field(7.0, gt=0, description="older sensor readings are kept as bucket means")
    downsample_bucket_s: int = Field(60, ge=1, le=3600, description="the bucket of those means (60: 1-minute means)")
    keep_delivered_days: float = Field(30.0, gt=0, description="rows every destination has are removed after this")
    housekeeping_interval_s: float = Field(3600.0, ge=1, description="how often the budget and policy are applied")
    pseudonym_key: SecretStr | None = Field(None, description="HMAC key for destinations with pseudonymise = true")
    pseudonym_home_page: str = "urn:classroom-hub:pseudonym"
    roster_dsn: SecretStr | None = Field(
        None, description="where rosters are pulled from; default: the first postgres destination"
    )
    roster_pull_interval_min: float = Field(60.0, ge=0, description="0: never (import bundles by hand)")
    materials_url: str | None = Field(None, description="the materials bank, e.g. https://bank.example.vn/api/v1")
    materials_token: SecretStr | None = None
    materials_sync_interval_min: float = Field(360.0, ge=0, description="0: only with `materials sync`")

    @field_validator("xapi_url", "materials_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("must start with https:// (or http:// on a test bench)")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Central:
        if self.retry_max_s < self.retry_min_s:
            raise ValueError("retry_max_s must be >= retry_min_s")
        names: dict[str, str] = {}
        for index, d in enumerate(self.destination_list()):
            where = f"destinations[{index}]" if index < len(self.destinations) else "the postgres_dsn/xapi_url option"
            if d.name in names:
                raise ValueError(f"destination name {d.name!r} is used twice ({names[d.name]} and {where})")
            names[d.name] = where
            if d.pseudonymise and self.pseudonym_key is None:
                raise ValueError(
                    f"destination {d.name!r} pseudonymises actors: set central.pseudonym_key (a long random secret)"
                )
        if self.pseudonym_key is not None and len(self.pseudonym_key.get_secret_value()) < 16:
            raise ValueError("pseudonym_key must be at least 16 characters (a long random secret)")
        return self

    def destination_list(self) -> list[PushDestination]:
        """Every configured destination, the shorthands included."""
        out = list(self.destinations)
        if self.postgres_dsn is not None:
            out.append(PushDestination(name="central", kind="postgres", dsn=self.postgres_dsn))
        if self.xapi_url is not None:
            out.append(
                PushDestination(
                    name="lrs",
                    kind="xapi",
                    url=self.xapi_url,
                    username=self.xapi_username,
                    password=self.xapi_password,
                    token=self.xapi_token,
                )
            )
        return out

    def roster_source(self) -> SecretStr | None:
        """The DSN rosters are pulled from: ``roster_dsn`` or the first enabled postgres destination."""
        if self.roster_dsn is not None:
            return self.roster_dsn
        return next((d.dsn for d in self.destination_list() if d.kind == "postgres" and d.enabled), None)


def central_of(settings: CoreSettings) -> Central:
    """The room's ``[central]`` section."""
    return settings.section(SECTION, Central)


def summary(settings: CoreSettings) -> list[str]:
    """What ``check-config`` says of the section."""
    central = central_of(settings)
    shown = {"postgres": "PostgreSQL", "xapi": "xAPI LRS", "sqlite": "SQLite file"}
    names = []
    for d in central.destination_list():
        where = d.url if d.kind == "xapi" else str(d.path) if d.kind == "sqlite" else ""
        names.append(f"{d.name} ({shown[d.kind]}{' ' + where if where else ''}{'' if d.enabled else ', disabled'})")
    return [f"  central   {', '.join(names) if names else '-'}"]


def demo_central(central: Central, folder: Path) -> Central:
    """The demo delivers simulated records to no central database: only SQLite destinations, as
    files in the demo's own folder."""
    skipped = [d.name for d in central.destination_list() if d.kind != "sqlite"]
    if skipped:
        log.warning("event=demo_destinations_skipped names=%s reason='simulated records stay in %s'",
                    ",".join(skipped), folder)  # fmt: skip
    own_files = [d.model_copy(update={"path": folder / f"{d.name}.db"}) for d in central.destinations
                 if d.kind == "sqlite"]  # fmt: skip
    return central.model_copy(update={"destinations": own_files, "postgres_dsn": None, "xapi_url": None})

"""The typed model of one hub: its room, broker, web server, store, central database and devices.

One TOML file per room; every field can be overridden by an environment variable
``CLASSROOM_HUB_<FIELD>`` with ``__`` between nesting levels (``CLASSROOM_HUB_MQTT__URL``).
A ``[[devices]]`` table is one of the declared device kinds (device_drivers/kinds.py), told
apart by ``kind``: the room's model is assembled here from the kinds' own settings models.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import Field, SecretStr, create_model, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from config.options import ID_PATTERN, Option
from device_drivers.kinds import declared_kinds
from device_drivers.settings import (
    DeviceBase,
    MqttTransport,
    SerialTransport,
    TcpTransport,
    Transport,
    UdpTransport,
    expand_ids,
)

RoomKind = Literal["classroom", "stem_lab", "studio"]


# --- the hub -----------------------------------------------------------------------------


class Room(Option):
    school_code: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    id: str = Field(pattern=ID_PATTERN)
    name: str
    kind: RoomKind = "classroom"


class Mqtt(Option):
    url: str | None = Field(None, description="mqtt://host:1883 or mqtts://host:8883; None runs an embedded broker")
    username: str | None = None
    password: SecretStr | None = None
    client_id: str | None = Field(None, description="default: hub-<school>-<room>")
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: int = Field(30, ge=5, le=3600)
    reconnect_min_s: float = Field(0.5, gt=0)
    reconnect_max_s: float = Field(30.0, gt=0)
    embedded_port: int = Field(0, ge=0, lt=65536, description="port of the embedded broker; 0 picks one")

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^mqtts?://[^/:]+(:\d+)?/?$", v):
            raise ValueError("must look like mqtt://host:1883 or mqtts://host:8883")
        return v

    @model_validator(mode="after")
    def _tls_pair(self) -> Mqtt:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together (client certificate and its key)")
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        return self


class Http(Option):
    host: str = "0.0.0.0"
    port: int = Field(8080, ge=0, lt=65536, description="the pages' port (HTTPS when tls_cert is set)")
    public_url: str | None = Field(None, description="address printed and put in QR codes")
    session_hours: float = Field(10.0, gt=0, le=24 * 14)
    tls_cert: Path | None = Field(None, description="server certificate (PEM, chain included): serve HTTPS")
    tls_key: Path | None = Field(None, description="its private key (PEM)")
    tls_ca: Path | None = Field(None, description="the room CA certificate, offered at /room-ca.crt")
    redirect_port: int | None = Field(
        None, ge=0, lt=65536, description="with TLS: a plain-HTTP port that sends browsers to HTTPS"
    )
    hsts_s: int = Field(0, ge=0, le=63_072_000, description="with TLS: Strict-Transport-Security max-age; 0: none")
    header_timeout_s: float = Field(10.0, gt=0, le=300, description="most time a client may take to send headers")
    max_connections_per_client: int = Field(64, ge=4, le=10_000, description="open connections per address")

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^/\s?#]+/?$", v):
            raise ValueError("must be the hub's address, e.g. https://hub.school.lan:8443 (no path)")
        return v

    @model_validator(mode="after")
    def _tls_pair(self) -> Http:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together (`classroom-hub tls init` writes both)")
        if self.redirect_port is not None and self.tls_cert is None:
            raise ValueError("redirect_port sends plain HTTP to HTTPS: set tls_cert and tls_key too")
        if self.redirect_port is not None and self.redirect_port == self.port != 0:
            raise ValueError("redirect_port must differ from port")
        return self

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None


class Store(Option):
    batch_max: int = Field(5000, ge=1)
    flush_interval_ms: int = Field(20, ge=1, le=10_000)
    synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL", description="FULL survives power loss (a hub's usual way to die)"
    )


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


class CoreSettings(BaseSettings):
    """Everything one hub needs to run. ``devices`` holds each kind's own model (the type
    checker sees their common base); :data:`HubSettings` is the model that validates them."""

    model_config = SettingsConfigDict(
        env_prefix="CLASSROOM_HUB_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    room: Room
    mqtt: Mqtt = Field(default_factory=Mqtt)
    http: Http = Field(default_factory=Http)
    data_dir: Path = Path("var/hub")
    store: Store = Field(default_factory=Store)
    central: Central = Field(default_factory=Central)
    devices: list[DeviceBase] = Field(default_factory=list)
    language: Literal["vi", "en"] = "vi"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the room file: a technician overrides one field
        # (a port, a broker URL) without editing the file.
        return env_settings, init_settings

    @model_validator(mode="after")
    def _unique_device_ids(self) -> CoreSettings:
        seen: dict[str, int] = {}
        for index, device in enumerate(self.devices):
            for device_id in expand_ids(device):
                if device_id in seen:
                    raise ValueError(
                        f"device id {device_id!r} appears twice (devices[{seen[device_id]}] and devices[{index}])"
                    )
                seen[device_id] = index
        return self

    def device_list(self) -> list[tuple[str, Any]]:
        """Every configured device as (device id, its settings), templates expanded."""
        return [(device_id, d) for d in self.devices for device_id in expand_ids(d)]


def device_kinds() -> tuple[str, ...]:
    """The kinds a ``[[devices]]`` table may have: every declared kind that loads."""
    return tuple(declared_kinds())


def _room_model() -> type[CoreSettings]:
    models = [kind.settings for kind in declared_kinds().values()]
    if not models:
        raise RuntimeError("no device kind is declared: is classroom-hub installed (pip install -e .)?")
    device: Any = Annotated[models[0] if len(models) == 1 else _union(models), Field(discriminator="kind")]
    return create_model(
        "HubSettings",
        __base__=CoreSettings,
        __module__=__name__,
        devices=(list[device], Field(default_factory=list)),
    )


def _union(models: list[type[DeviceBase]]) -> Any:
    return Union[tuple(models)]  # noqa: UP007 (built from a list: no `X | Y` spelling)


if TYPE_CHECKING:
    HubSettings = CoreSettings
else:
    HubSettings = _room_model()

__all__ = [
    "ID_PATTERN", "CoreSettings", "DeviceBase", "HubSettings", "MqttTransport", "Option", "SerialTransport",
    "TcpTransport", "Transport", "UdpTransport", "device_kinds", "expand_ids",
]  # fmt: skip

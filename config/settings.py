"""The typed model of one hub: its room, broker, web server, store, each package's section and devices.

One TOML file per room; every field can be overridden by an environment variable
``CLASSROOM_HUB_<FIELD>`` with ``__`` between nesting levels (``CLASSROOM_HUB_MQTT__URL``).
A ``[[devices]]`` table is one of the declared device kinds (device_drivers/kinds.py), told
apart by ``kind``; a package's section (``[central]``, ``[studio]``) is its declared settings
model (classroom_hub/packages.py): the room's model is assembled here from theirs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, Union

from pydantic import BaseModel, Field, SecretStr, create_model, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from classroom_hub.packages import declared_packages
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
M = TypeVar("M", bound=BaseModel)


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
    live_beat_s: float = Field(
        10.0, gt=0, le=120, description="a page's live feed (devices, alarms, lab) beats this often when idle"
    )

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
    disk_free_min_mb: int = Field(
        200, ge=1, description="alarm (and /healthz 503) below this much free disk for the data directory"
    )
    watch_interval_s: float = Field(2.0, gt=0, le=60, description="how often the hub checks its own parts")
    held_max: int = Field(
        10_000, ge=1, le=1_000_000, description="device events of the hub's own kept in memory while the store fails"
    )


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

    def section(self, name: str, model: type[M]) -> M:
        """A package's section of the room file (``[studio]``, ``[central]``...), typed."""
        value = getattr(self, name, None)
        if not isinstance(value, model):
            raise LookupError(f"the room's settings have no [{name}] section of {model.__name__}: "
                              "is the package that declares it installed?")  # fmt: skip
        return value


def device_kinds() -> tuple[str, ...]:
    """The kinds a ``[[devices]]`` table may have: every declared kind that loads."""
    return tuple(declared_kinds())


def sections() -> dict[str, type[BaseModel]]:
    """The room file's sections that packages declare (``[central]``, ``[studio]``...)."""
    out: dict[str, type[BaseModel]] = {}
    for package in declared_packages().values():
        section = package.settings
        if section is None:
            continue
        if section.name in CoreSettings.model_fields or section.name in out:
            raise RuntimeError(f"package {package.name!r} declares the section [{section.name}], which is taken")
        out[section.name] = section.model
    return out


def _room_model() -> type[CoreSettings]:
    """The model of a room file: the core's fields, a section per package, any declared device kind."""
    models = [kind.settings for kind in declared_kinds().values()]
    if not models:
        raise RuntimeError("no device kind is declared: is classroom-hub installed (pip install -e .)?")
    device: Any = Annotated[models[0] if len(models) == 1 else _union(models), Field(discriminator="kind")]
    fields: dict[str, Any] = {name: (model, Field(default_factory=model)) for name, model in sections().items()}
    return create_model(
        "HubSettings",
        __base__=CoreSettings,
        __module__=__name__,
        devices=(list[device], Field(default_factory=list)),
        **fields,
    )


def _union(models: list[type[DeviceBase]]) -> Any:
    return Union[tuple(models)]  # noqa: UP007 (built from a list: no `X | Y` spelling)


if TYPE_CHECKING:
    HubSettings = CoreSettings
else:
    HubSettings = _room_model()

__all__ = [
    "ID_PATTERN", "CoreSettings", "DeviceBase", "HubSettings", "MqttTransport", "Option", "SerialTransport",
    "TcpTransport", "Transport", "UdpTransport", "device_kinds", "expand_ids", "sections",
]  # fmt: skip

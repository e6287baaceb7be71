"""The typed model of one hub: its room, broker, web server, store, central database and devices.

One TOML file per room; every field can be overridden by an environment variable
``CLASSROOM_HUB_<FIELD>`` with ``__`` between nesting levels (``CLASSROOM_HUB_MQTT__URL``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

# Ids travel in MQTT topics and URLs: keep them to characters safe in both.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_ID_RE = re.compile(ID_PATTERN)

RoomKind = Literal["classroom", "stem_lab", "studio"]


class Option(BaseModel):
    """Base of every option model: unknown keys are typos, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- transports --------------------------------------------------------------------------


class MqttTransport(Option):
    type: Literal["mqtt"] = "mqtt"
    username: str | None = None
    password: SecretStr | None = None


class SerialTransport(Option):
    type: Literal["serial"] = "serial"
    port: str | None = Field(None, description="device path, e.g. /dev/ttyUSB0; None: find by USB id")
    baudrate: int = Field(115200, gt=0)
    usb_vid: int | None = Field(None, ge=0, le=0xFFFF)
    usb_pid: int | None = Field(None, ge=0, le=0xFFFF)

    @model_validator(mode="after")
    def _port_or_usb_id(self) -> SerialTransport:
        if self.port is None and self.usb_vid is None:
            raise ValueError("give either 'port' (e.g. /dev/ttyUSB0) or 'usb_vid'/'usb_pid' to find the board")
        return self


class TcpTransport(Option):
    type: Literal["tcp"] = "tcp"
    host: str
    port: int = Field(gt=0, lt=65536)


class UdpTransport(Option):
    type: Literal["udp"] = "udp"
    host: str
    port: int = Field(gt=0, lt=65536)


Transport = Annotated[MqttTransport | SerialTransport | TcpTransport | UdpTransport, Field(discriminator="type")]


# --- devices -----------------------------------------------------------------------------


class DeviceBase(Option):
    """Fields every device has. ``count`` > 1 expands to ``count`` devices whose ids come
    from ``id`` as a format template (``T{:02d}`` -> T01..T40), so a room file does not
    list 40 tablets one by one."""

    id: str
    name: str | None = None
    count: int = Field(1, ge=1, le=500)
    transport: Transport = Field(default_factory=MqttTransport)
    heartbeat_timeout_s: float = Field(90.0, gt=0, description="silent this long -> offline")
    group: str | None = None

    @model_validator(mode="after")
    def _id_shape(self) -> DeviceBase:
        if self.count == 1:
            if not _ID_RE.match(self.id):
                raise ValueError(f"id {self.id!r} must match {ID_PATTERN}")
        else:
            try:
                sample = self.id.format(self.count)
            except (IndexError, KeyError, ValueError) as err:
                raise ValueError(f"with count={self.count}, id must be a template such as 'T{{:02d}}' ({err})") from err
            if sample == self.id or not _ID_RE.match(sample):
                raise ValueError(f"with count={self.count}, id {self.id!r} must be a template like 'T{{:02d}}'")
        return self


class Display(DeviceBase):
    kind: Literal["display"]
    protocol: Literal["samsung_mdc", "viewsonic"] = "samsung_mdc"
    display_id: int = Field(1, ge=0, le=0xFE)
    size_inch: int | None = None


class Tablet(DeviceBase):
    kind: Literal["tablet"]


class Headset(DeviceBase):
    kind: Literal["headset"]
    model: str | None = None


class ArDevice(DeviceBase):
    kind: Literal["ar_device"]


class TeacherLaptop(DeviceBase):
    kind: Literal["teacher_laptop"]


class SensorNode(DeviceBase):
    kind: Literal["sensor_node"]
    sensors: list[str] = Field(default_factory=list)


class Actuator(DeviceBase):
    kind: Literal["actuator"]
    outputs: list[str] = Field(default_factory=list)


class Robot(DeviceBase):
    kind: Literal["robot"]


class Camera(DeviceBase):
    kind: Literal["camera"]
    source: str | None = Field(None, description="OpenCV source: device index, RTSP/HTTP URL or file")
    ptz: Literal["visca_serial", "visca_ip", "none"] = "none"


class AudioInput(DeviceBase):
    kind: Literal["audio"]


class Lights(DeviceBase):
    kind: Literal["lights"]


Device = Annotated[
    Display
    | Tablet
    | Headset
    | ArDevice
    | TeacherLaptop
    | SensorNode
    | Actuator
    | Robot
    | Camera
    | AudioInput
    | Lights,
    Field(discriminator="kind"),
]

DEVICE_KINDS: tuple[str, ...] = (
    "display", "tablet", "headset", "ar_device", "teacher_laptop", "sensor_node",
    "actuator", "robot", "camera", "audio", "lights",
)  # fmt: skip


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
    port: int = Field(8080, ge=0, lt=65536)
    public_url: str | None = Field(None, description="address printed and put in QR codes")
    session_hours: float = Field(10.0, gt=0, le=24 * 14)


class Store(Option):
    batch_max: int = Field(5000, ge=1)
    flush_interval_ms: int = Field(20, ge=1, le=10_000)
    synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL", description="FULL survives power loss (a hub's usual way to die)"
    )


class Central(Option):
    postgres_dsn: SecretStr | None = None
    xapi_url: str | None = None
    xapi_username: str | None = None
    xapi_password: SecretStr | None = None
    xapi_token: SecretStr | None = None


class HubSettings(BaseSettings):
    """Everything one hub needs to run."""

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
    devices: list[Device] = Field(default_factory=list)
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
    def _unique_device_ids(self) -> HubSettings:
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


def expand_ids(device: DeviceBase) -> list[str]:
    if device.count == 1:
        return [device.id]
    return [device.id.format(n) for n in range(1, device.count + 1)]

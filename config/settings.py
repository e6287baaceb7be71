"""The typed model of one hub: its room, broker, web server, store, central database and devices.

One TOML file per room; every field can be overridden by an environment variable
``CLASSROOM_HUB_<FIELD>`` with ``__`` between nesting levels (``CLASSROOM_HUB_MQTT__URL``).
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

# Ids travel in MQTT topics and URLs: keep them to characters safe in both.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_ID_RE = re.compile(ID_PATTERN)
_NUMBER_SPEC = re.compile(r"^0?[0-9]?d?$")  # the "02d" of T{:02d}

RoomKind = Literal["classroom", "stem_lab", "studio"]
DISPLAY_BAUDRATE = 9600  # RS-232 speed of interactive panels unless the room file says otherwise


class Option(BaseModel):
    """Base of every option model: unknown keys are typos, not silently ignored."""

    # TOML writes inf and nan: a timeout of inf never fires, a backoff of inf never reconnects.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


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
                # Only the number itself, as {} or {:02d}: "{0.x}" or "{0[0]}" would raise what
                # pydantic does not report, and "{:>999999999}" would allocate a gigabyte.
                for _, name, spec, conversion in string.Formatter().parse(self.id):
                    if name is not None and (name not in ("", "0") or conversion or not _NUMBER_SPEC.match(spec or "")):
                        field = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
                        raise ValueError(f"{{{field}}} is not the number")
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
    timeout_s: float = Field(2.0, gt=0, le=30, description="per request to the panel, and to connect")
    poll_interval_s: float = Field(10.0, ge=0.05, le=3600, description="how often the hub asks the panel's status")

    @model_validator(mode="before")
    @classmethod
    def _display_baudrate(cls, data: Any) -> Any:
        # Interactive panels speak RS-232 at 9600 8N1 (Samsung MDC and ViewSonic alike);
        # the transport's general default (115200, for lab kits) would never get an answer.
        if isinstance(data, dict):
            transport = data.get("transport")
            if isinstance(transport, dict) and transport.get("type") == "serial" and "baudrate" not in transport:
                data = {**data, "transport": {**transport, "baudrate": DISPLAY_BAUDRATE}}
        return data

    @model_validator(mode="after")
    def _polled_within_timeout(self) -> Display:
        if self.poll_interval_s >= self.heartbeat_timeout_s:
            raise ValueError(
                f"poll_interval_s ({self.poll_interval_s:g}) must be shorter than heartbeat_timeout_s "
                f"({self.heartbeat_timeout_s:g}), or the display looks offline between two polls"
            )
        return self


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
    # Studio options (studio/, docs/studio.md); all optional.
    visca_address: int = Field(1, ge=1, le=7, description="VISCA address on the RS-232 daisy chain")
    size: str | None = Field(None, pattern=r"^\d{2,4}x\d{2,4}$", description="capture size asked of the source")
    fps: float | None = Field(None, gt=0, le=120, description="capture rate asked of the source")
    display_capture: bool = Field(False, description="an HDMI capture of a display, not a camera")


class AudioInput(DeviceBase):
    kind: Literal["audio"]
    source: str | None = Field(
        None, description="studio input: pulse:default, alsa:hw:1,0, file:/path.wav, tone:440 or silence"
    )


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


class Lessons(Option):
    """The lesson service's timing (docs/protocol.md, section 5): the defaults suit a classroom's Wi-Fi."""

    beat_s: float = Field(2.0, ge=0.05, le=60, description="a heartbeat to every lesson connection this often")
    dead_after_s: float = Field(6.0, gt=0, le=600, description="a connection silent this long is cut")
    screens_every_s: float = Field(0.15, ge=0.01, le=10, description="the teacher's view is redrawn at most this often")

    @model_validator(mode="after")
    def _beats_before_death(self) -> Lessons:
        if self.dead_after_s <= self.beat_s:
            raise ValueError("dead_after_s must be longer than beat_s (a connection is cut after missed beats)")
        return self


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
    lessons: Lessons = Field(default_factory=Lessons)
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

"""ASCII "LFD" frames of ViewSonic interactive panels (IFP8652 and the IFP series): pure codec.

Sources (see docs/display-control.md): ViewSonic "IFP6552-2 RS-232 Protocols"
(manuals.viewsonic.com) and the RS-232 chapter of the IFP50/IFP8650/IFP8662 user guides.

    set      '8' id id 's' cmd v v v CR      reply  '4' id id '+' CR  (or '-': invalid)
    get      '8' id id 'g' cmd 0 0 0 CR      reply  '8' id id 'r' cmd v v v CR  (or '4' id id '-' CR)

The first byte is the ASCII count of bytes before the CR. Id "01".."98"; "99" is every
panel on the line (only id 01 answers). 9600 8N1 on RS-232, the same bytes on TCP 5000.

The command letters and value codes of one panel family are data (a ``PanelTable``
loaded from ``panels/<name>.toml``): another panel with the same framing is a new table.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from classroom_hub.problems import describe
from device_drivers.base import DriverError, InvalidCommand, ProtocolError

CR = b"\r"
SET: Final = "s"
GET: Final = "g"
OK: Final = "+"
INVALID: Final = "-"
VALUE: Final = "r"
BROADCAST_ID = 99
MAX_FRAME = 16  # longest frame we accept before the CR; real ones are 4 or 8

RequestType = Literal["s", "g"]
ReplyType = Literal["+", "-", "r"]


def _text(frame: bytes) -> str:
    return repr(frame)[1:]


def _is_value(value: str) -> bool:
    return len(value) == 3 and all(0x20 < ord(c) < 0x7F for c in value)


def _is_letter(command: str) -> bool:
    return len(command) == 1 and 0x20 < ord(command) < 0x7F


def _check_value(value: str) -> None:
    if not _is_value(value):
        raise InvalidCommand(f"LFD value {value!r} must be three printable ASCII characters")


def _check_command(command: str) -> None:
    if not _is_letter(command):
        raise InvalidCommand(f"LFD command {command!r} must be one printable ASCII character")


def _id_text(display_id: int) -> str:
    if not 0 <= display_id <= BROADCAST_ID:
        raise InvalidCommand(f"LFD display id {display_id} is outside 01..99")
    return f"{display_id:02d}"


def _frame(body: str) -> bytes:
    # The length byte counts itself and everything up to, not including, the CR.
    return f"{len(body) + 1}{body}".encode("ascii") + CR


def encode_request(display_id: int, kind: RequestType, command: str, value: str = "000") -> bytes:
    _check_command(command)
    _check_value(value)
    return _frame(f"{_id_text(display_id)}{kind}{command}{value}")


def encode_reply(display_id: int, kind: ReplyType, command: str = "", value: str = "") -> bytes:
    if kind == VALUE:
        _check_command(command)
        _check_value(value)
        return _frame(f"{_id_text(display_id)}{kind}{command}{value}")
    return _frame(f"{_id_text(display_id)}{kind}")


def _split(frame: bytes, what: str) -> tuple[int, str, str]:
    """-> (display id, type char, rest) after checking CR, length digit and id digits."""
    if not frame.endswith(CR):
        raise ProtocolError(f"LFD {what} must end with CR (0x0D): {_text(frame)}")
    try:
        text = frame[:-1].decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError(f"LFD {what} has non-ASCII bytes: {_text(frame)}") from None
    if len(text) < 4 or not text[0].isdigit() or int(text[0]) != len(text):
        raise ProtocolError(
            f"LFD {what} length byte {text[:1]!r} does not match its {len(text)} bytes before CR: "
            f"{_text(frame)}"
        )
    if not text[1:3].isdigit():
        raise ProtocolError(f"LFD {what} id {text[1:3]!r} is not two digits: {_text(frame)}")
    return int(text[1:3]), text[3], text[4:]


@dataclass(frozen=True)
class Request:
    display_id: int
    kind: RequestType
    command: str
    value: str


def decode_request(frame: bytes) -> Request:
    display_id, kind, rest = _split(frame, "request")
    if kind not in (SET, GET) or len(rest) != 4:
        raise ProtocolError(f"LFD request must be 's' or 'g' + command + 3 values: {_text(frame)}")
    return Request(display_id, SET if kind == SET else GET, rest[0], rest[1:])


@dataclass(frozen=True)
class Reply:
    display_id: int
    kind: ReplyType
    command: str | None = None
    value: str | None = None


def decode_reply(frame: bytes) -> Reply:
    display_id, kind, rest = _split(frame, "reply")
    if kind in (OK, INVALID) and not rest:
        return Reply(display_id, OK if kind == OK else INVALID)
    if kind == VALUE and len(rest) == 4:
        return Reply(display_id, VALUE, rest[0], rest[1:])
    raise ProtocolError(f"LFD reply must be '+', '-' or 'r' + command + 3 values: {_text(frame)}")


def take_frame(buffer: bytearray) -> bytes | None:
    """Cut one CR-terminated frame off ``buffer``; None while incomplete. Not checked: decode it."""
    end = buffer.find(CR)
    if end < 0:
        if len(buffer) > MAX_FRAME:
            raise ProtocolError(f"LFD: {len(buffer)} bytes without a CR: {_text(bytes(buffer[:32]))}")
        return None
    frame = bytes(buffer[: end + 1])
    del buffer[: end + 1]
    return frame


# --- command tables as data --------------------------------------------------------------


def _letter(v: str) -> str:
    if not _is_letter(v):
        raise ValueError(f"{v!r} must be one printable ASCII character")
    return v


def _code(v: str) -> str:
    if not _is_value(v):
        raise ValueError(f"{v!r} must be three printable ASCII characters")
    return v


Letter = Annotated[str, AfterValidator(_letter)]
Code = Annotated[str, AfterValidator(_code)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Switch(_Table):
    """An on/off function: its set and get letters and the two values."""

    set: Letter
    get: Letter
    on: Code = "001"
    off: Code = "000"


class Level(_Table):
    set: Letter
    get: Letter
    max: int = Field(100, ge=1, le=999)


class Inputs(_Table):
    set: Letter
    get: Letter
    #: the get reply's first digit says "signal detected" (0/1): compare only the last two
    reply_ignores_first_digit: bool = False
    codes: dict[str, Code] = Field(min_length=1)

    def name_of(self, value: str) -> str:
        """The hub's name of an input as the get reply gives it; ``unknown:<value>`` if not in the table."""
        skip = 1 if self.reply_ignores_first_digit else 0
        for name, code in self.codes.items():
            if code[skip:].upper() == value[skip:].upper():
                return name
        return f"unknown:{value}"


class PanelTable(_Table):
    """The command letters and value codes of one panel family speaking the LFD framing."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    source: str
    tcp_port: int = Field(5000, gt=0, lt=65536)
    baudrate: int = Field(9600, gt=0)
    display_ids: tuple[int, int] = (1, 98)
    power: Switch
    mute: Switch
    volume: Level
    input: Inputs

    @model_validator(mode="after")
    def _ids(self) -> PanelTable:
        low, high = self.display_ids
        if not 0 <= low <= high <= BROADCAST_ID:
            raise ValueError(f"display_ids {self.display_ids} must be within 0..99, low first")
        return self


def table_names() -> list[str]:
    """Names of the tables shipped in ``device_drivers/display/panels/``."""
    folder = resources.files(__package__).joinpath("panels")
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def load_table(name: str) -> PanelTable:
    """Load and check ``panels/<name>.toml``."""
    if name not in table_names():
        raise DriverError(f"no ASCII panel table {name!r} (have: {', '.join(table_names())})")
    source = resources.files(__package__).joinpath("panels", f"{name}.toml")
    try:
        return parse_table(source.read_text(encoding="utf-8"), origin=f"panels/{name}.toml")
    except OSError as err:
        raise DriverError(f"cannot read panel table panels/{name}.toml: {err}") from err


def parse_table(text: str, origin: str = "<table>") -> PanelTable:
    try:
        return PanelTable.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as err:
        raise DriverError(f"{origin}: not valid TOML: {err}") from err
    except ValidationError as err:
        raise DriverError(f"{origin}: {describe(err, root='value')}") from err

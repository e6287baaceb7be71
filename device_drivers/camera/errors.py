"""One exception root for PTZ control (under the hub's ``HubError``); transport errors are translated at the
edge with ``from err``."""

from classroom_hub.errors import HubError


class PtzError(HubError):
    """Base of every error the PTZ package raises on purpose."""

    code = "camera"
    http_status = 502


class ViscaFormatError(PtzError):
    """Bytes that are not a valid VISCA or VISCA-over-IP message, or a value that cannot be encoded."""


class PtzLinkError(PtzError):
    """The serial port or UDP socket to the camera failed, is closed, or the camera refused the link."""


class PtzSequenceError(PtzLinkError):
    """The camera refused a VISCA-over-IP message's sequence number (control reply ``0F 01``)."""


class PtzTimeout(PtzError):
    """The camera did not answer in time."""

    def __init__(self, command: str, waiting_for: str, seconds: float) -> None:
        super().__init__(f"{command}: no {waiting_for} from the camera within {seconds:g} s")
        self.command = command
        self.waiting_for = waiting_for
        self.seconds = seconds


class PtzRejected(PtzError):
    """The camera answered with a VISCA error message (``y0 6z ee FF``); ``error_code`` is its ``ee``."""

    def __init__(self, command: str, code: int, meaning: str, socket: int) -> None:
        super().__init__(f"{command}: camera error 0x{code:02X} ({meaning}) on socket {socket}")
        self.command = command
        self.error_code = code
        self.meaning = meaning
        self.socket = socket

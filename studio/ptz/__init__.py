"""PTZ camera control over VISCA (RS-232) and VISCA over IP (UDP 52381), with a simulated camera.

Wire formats live in ``visca`` (commands, replies) and ``visca_ip`` (the 8-byte header); the
byte tables they follow are in docs/visca.md.
"""

from studio.ptz.camera import PtzCamera, PtzPosition
from studio.ptz.errors import (
    PtzError,
    PtzLinkError,
    PtzRejected,
    PtzSequenceError,
    PtzTimeout,
    ViscaFormatError,
)
from studio.ptz.link import Timeouts
from studio.ptz.visca import Direction, ErrorCode, PowerState, ZoomDirection

__all__ = [
    "Direction",
    "ErrorCode",
    "PowerState",
    "PtzCamera",
    "PtzError",
    "PtzLinkError",
    "PtzPosition",
    "PtzRejected",
    "PtzSequenceError",
    "PtzTimeout",
    "Timeouts",
    "ViscaFormatError",
    "ZoomDirection",
]

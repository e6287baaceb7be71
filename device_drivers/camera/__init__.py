"""PTZ camera control over VISCA (RS-232) and VISCA over IP (UDP 52381), with a simulated camera.

Wire formats live in ``visca`` (commands, replies) and ``visca_ip`` (the 8-byte header); the
byte tables they follow are in docs/visca.md.
"""

from device_drivers.camera.camera import PtzCamera, PtzPosition
from device_drivers.camera.errors import (
    PtzError,
    PtzLinkError,
    PtzRejected,
    PtzSequenceError,
    PtzTimeout,
    ViscaFormatError,
)
from device_drivers.camera.link import Timeouts
from device_drivers.camera.visca import Direction, ErrorCode, PowerState, ZoomDirection

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

"""Errors of the firmware bridge; :class:`FrameError` is the root of every one of them.

Command failures also derive from the hub's :class:`~classroom_hub.errors.CommandFailed` and
:class:`~classroom_hub.errors.CommandTimeout`, so the bus can turn them into replies without
knowing this package.
"""

from __future__ import annotations

from classroom_hub.errors import CommandFailed, CommandTimeout, HubError


class FrameError(HubError):
    """Base of every error the firmware bridge raises on purpose."""

    code = "kit_link_failed"
    http_status = 502


class MalformedFrame(FrameError):
    """Bytes between two delimiters that are not a valid frame.

    ``reason`` is the counter name the stream decoder files the drop under.
    """

    code = "malformed_frame"
    http_status = 502

    reason = "malformed"


class BadCobs(MalformedFrame):
    """The COBS encoding is broken (zero byte inside, or a block runs past the end)."""

    reason = "bad_cobs"


class BadCrc(MalformedFrame):
    """The CRC-16 over header and payload does not match."""

    reason = "bad_crc"


class FrameTooLong(MalformedFrame):
    """More bytes than the protocol's maximum frame size before a delimiter."""

    reason = "oversize"


class FrameTooShort(MalformedFrame):
    """Fewer bytes than a header and a CRC."""

    reason = "too_short"


class BadVersion(MalformedFrame):
    """The frame header names a protocol version this side does not speak."""

    reason = "bad_version"


class BadLength(MalformedFrame):
    """The header's payload length disagrees with the frame (bytes added or lost around the CRC)."""

    reason = "bad_length"


class PayloadError(FrameError):
    """A TLV payload that cannot be decoded, or values that cannot be encoded."""

    code = "malformed_payload"
    http_status = 502


class PortUnavailable(FrameError):
    """The serial port could not be opened (absent, busy, or no permission)."""

    code = "port_unavailable"
    http_status = 503


class HandshakeFailed(FrameError):
    """The port opened but no kit answered HELLO, or it speaks no common protocol version."""

    code = "handshake_failed"
    http_status = 503


class LinkLost(FrameError):
    """The serial link died: port vanished, board silent or restarted, or the link was closed."""

    code = "link_lost"
    http_status = 503


class KitOffline(FrameError):
    """A command was asked of a kit that currently has no link."""

    code = "kit_offline"
    http_status = 503


class CommandNacked(FrameError, CommandFailed):
    """The kit refused a command (NACK); ``nack_code`` is the protocol's NACK code."""

    code = "device_refused"
    http_status = 502

    def __init__(self, device_id: str, name: str, code: int, error: str) -> None:
        CommandFailed.__init__(self, device_id, name, f"{error} (NACK code {code})")
        self.nack_code = code
        self.reason = error


class CommandUnanswered(FrameError, CommandTimeout):
    """No ACK or NACK after every retransmission of a command."""

    code = "no_reply"
    http_status = 504

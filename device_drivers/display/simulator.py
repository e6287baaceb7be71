"""A simulated interactive panel that speaks the exact bytes of MDC or an ASCII panel table.

It keeps power, input, volume and mute, answers ACK/NAK (``+``/``-``/``r``) like the real
panel, and can be told to misbehave: a corrupt reply, silence, a dropped connection or a
refusal. A profile (profiles.py) makes it behave as a given panel model does: refuse the
all-status request, answer only power in standby, answer slowly with a small buffer, miss
requests. It listens on TCP (127.0.0.1, port 0 by default) or on a pseudo-terminal whose
slave path the driver opens as its serial port (panel_transports.py). No task runs in the
background: both transports feed bytes to the panel from event-loop callbacks.

    python -m device_drivers.display.simulator --protocol samsung_mdc --tcp 127.0.0.1:0
    python -m device_drivers.display.simulator --profile no_all_status --tcp 127.0.0.1:0
    python -m device_drivers.display.simulator --protocol viewsonic --pty
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass
from enum import StrEnum

from device_drivers.base import DriverError, ProtocolError
from device_drivers.display import mdc, viewsonic
from device_drivers.display.panel_transports import PanelSerialPort, PanelTcpServer
from device_drivers.display.profiles import PROFILES, REFERENCE, PanelProfile, profile_named
from device_drivers.display.protocols import MDC, protocol_names

__all__ = ["Fault", "PanelSerialPort", "PanelState", "PanelTcpServer", "Response", "SimulatedPanel", "main"]

log = logging.getLogger(__name__)

NAK_ERROR = 0x01  # the error byte this simulator puts in an MDC NAK


class Fault(StrEnum):
    CORRUPT = "corrupt"  # MDC: wrong checksum; ASCII: wrong length byte
    SILENT = "silent"  # the request is lost: no change, no reply
    DROP = "drop"  # the connection (or the serial port) goes away instead of a reply
    REFUSE = "refuse"  # MDC NAK / ASCII '-', state unchanged
    LATE = "late"  # the right reply, but ``late_s`` seconds later (after the hub gave up)


@dataclass(frozen=True)
class Response:
    reply: bytes | None = None
    drop: bool = False  # hang up instead of replying
    delay_s: float = 0.0
    busy: bool = False  # the panel takes no other request until this reply is out (its profile)


@dataclass
class PanelState:
    power: bool = False
    input: str = "hdmi1"
    volume: int = 20
    mute: bool = False


class SimulatedPanel:
    """The panel's state and its answers; transports below carry its bytes."""

    def __init__(
        self, protocol: str | viewsonic.PanelTable = MDC, display_id: int = 1, state: PanelState | None = None,
        profile: PanelProfile | str = REFERENCE,
    ) -> None:  # fmt: skip
        """``protocol``: "samsung_mdc", the name of a table in ``panels/``, or a table itself;
        ``profile``: how this model departs from the happy path (device_drivers/display/profiles.py)."""
        self.profile = profile_named(profile) if isinstance(profile, str) else profile
        if isinstance(protocol, viewsonic.PanelTable):
            self.table: viewsonic.PanelTable | None = protocol
        else:
            self.table = None if protocol == MDC else viewsonic.load_table(protocol)
        self.protocol = MDC if self.table is None else self.table.name
        self.display_id = display_id
        self.state = state or PanelState()
        self.received: list[bytes] = []  # every frame, as it arrived
        self.late_s = 1.0
        # Late replies written to the line, or dropped with it: a test waits for them, not for the time.
        self.late_settled = 0
        self.overrun = 0  # bytes the panel lost because its receive buffer was full
        self._faults: list[Fault] = []

    def inject(self, fault: Fault, times: int = 1) -> None:
        """Misbehave on the next ``times`` requests."""
        self._faults.extend([fault] * times)

    def take_frame(self, buffer: bytearray) -> bytes | None:
        return mdc.take_frame(buffer) if self.table is None else viewsonic.take_frame(buffer)

    def respond(self, frame: bytes) -> Response:
        """What the panel does about one request frame, faults included."""
        self.received.append(frame)
        fault = self._faults.pop(0) if self._faults else None
        if fault is Fault.SILENT:
            return Response()
        if fault is Fault.DROP:
            return Response(drop=True)
        profile = self.profile
        if profile.misses_every and len(self.received) % profile.misses_every == 0:
            return Response()  # this one never got through
        try:
            refused = fault is Fault.REFUSE or self._profile_refuses(frame)
            reply = self._refuse(frame) if refused else self.answer(frame)
        except ProtocolError as err:
            log.info("simulated panel ignores a bad frame: %s", err)
            return Response()
        if reply is not None and fault is Fault.CORRUPT:
            reply = self._corrupt(reply)
        if fault is Fault.LATE:
            return Response(reply, delay_s=self.late_s)
        return Response(reply, delay_s=profile.reply_delay_s, busy=profile.busy_while_working)

    def _profile_refuses(self, frame: bytes) -> bool:
        """Whether this model says no to the request, whatever the protocol allows."""
        if self.table is None:
            request = mdc.decode_request(frame)
            key: int | str = request.command
            power = request.command == mdc.Command.POWER
        else:
            ascii_request = viewsonic.decode_request(frame)
            key = ascii_request.command
            power = key in (self.table.power.set, self.table.power.get)
        if key in self.profile.refuses:
            return True
        return self.profile.standby_power_only and not self.state.power and not power

    def answer(self, frame: bytes) -> bytes | None:
        """The well-behaved panel: apply the request, return the reply (None: not for us)."""
        return self._answer_mdc(frame) if self.table is None else self._answer_ascii(frame)

    # --- Samsung MDC ---------------------------------------------------------------------

    def _answer_mdc(self, frame: bytes) -> bytes | None:
        request = mdc.decode_request(frame)
        if request.display_id not in (self.display_id, 0, mdc.BROADCAST_ID):
            return None  # another panel on the daisy chain
        values = self._apply_mdc(request)
        if request.display_id == mdc.BROADCAST_ID:
            return None  # broadcasts are never acknowledged
        if values is None:
            return mdc.encode_reply(self.display_id, request.command, bytes((NAK_ERROR,)), ack=False)
        return mdc.encode_reply(self.display_id, request.command, values)

    def _apply_mdc(self, request: mdc.Request) -> bytes | None:
        s, data, cmd = self.state, request.data, request.command
        if cmd == mdc.Command.STATUS and request.is_query:
            return mdc.Status(s.power, s.volume, s.mute, mdc.INPUT_CODES[s.input]).encode()
        if len(data) > 1 or cmd not in (
            mdc.Command.POWER,
            mdc.Command.VOLUME,
            mdc.Command.MUTE,
            mdc.Command.INPUT,
        ):
            return None
        value = data[0] if data else None
        if cmd == mdc.Command.POWER and value in (None, 0, 1):
            s.power = s.power if value is None else value == 1
            return bytes((int(s.power),))
        if cmd == mdc.Command.VOLUME and (value is None or value <= 100):
            s.volume = s.volume if value is None else value
            return bytes((s.volume,))
        if cmd == mdc.Command.MUTE and value in (None, 0, 1):
            s.mute = s.mute if value is None else value == 1
            return bytes((int(s.mute),))
        if cmd == mdc.Command.INPUT and (value is None or value in mdc.INPUT_NAMES):
            s.input = s.input if value is None else mdc.INPUT_NAMES[value]
            return bytes((mdc.INPUT_CODES[s.input],))
        return None

    # --- ASCII panel table ---------------------------------------------------------------

    def _answer_ascii(self, frame: bytes) -> bytes | None:
        request = viewsonic.decode_request(frame)
        if request.display_id not in (self.display_id, viewsonic.BROADCAST_ID):
            return None
        if request.display_id == viewsonic.BROADCAST_ID and self.display_id != 1:
            self._apply_ascii(request)
            return None  # only panel 01 answers a broadcast
        value = self._apply_ascii(request)
        if value is None:
            return viewsonic.encode_reply(self.display_id, viewsonic.INVALID)
        if request.kind == viewsonic.SET:
            return viewsonic.encode_reply(self.display_id, viewsonic.OK)
        return viewsonic.encode_reply(self.display_id, viewsonic.VALUE, request.command, value)

    def _apply_ascii(self, request: viewsonic.Request) -> str | None:
        """Apply a set or read a get; the value to report, or None for a '-' reply."""
        assert self.table is not None
        t, s, v = self.table, self.state, request.value
        setting = request.kind == viewsonic.SET
        for switch, field in ((t.power, "power"), (t.mute, "mute")):
            if request.command == (switch.set if setting else switch.get):
                if setting:
                    if v not in (switch.on, switch.off):
                        return None
                    setattr(s, field, v == switch.on)
                return switch.on if getattr(s, field) else switch.off
        if request.command == (t.volume.set if setting else t.volume.get):
            if setting:
                if not (v.isdigit() and int(v) <= t.volume.max):
                    return None
                s.volume = int(v)
            return f"{s.volume:03d}"
        if request.command == (t.input.set if setting else t.input.get):
            if setting:
                names = {code: name for name, code in t.input.codes.items()}
                if v not in names:
                    return None
                s.input = names[v]
            code = t.input.codes[s.input]
            return "1" + code[1:] if t.input.reply_ignores_first_digit else code  # 1: signal detected
        return None

    # --- faults --------------------------------------------------------------------------

    def _refuse(self, frame: bytes) -> bytes | None:
        if self.table is None:
            return mdc.encode_reply(self.display_id, frame[1], bytes((NAK_ERROR,)), ack=False)
        return viewsonic.encode_reply(self.display_id, viewsonic.INVALID)

    def _corrupt(self, reply: bytes) -> bytes:
        if self.table is None:
            return reply[:-1] + bytes(((reply[-1] + 1) & 0xFF,))
        return b"9" + reply[1:]


# --- command line ------------------------------------------------------------------------


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:0)")
    return host, int(port)


async def _serve(args: argparse.Namespace) -> None:
    panel = SimulatedPanel(args.protocol, args.id, PanelState(power=args.power_on), args.profile)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if args.pty:
        async with PanelSerialPort(panel) as port:
            print(f"pty {port.path}", flush=True)
            await stop.wait()
    else:
        server = PanelTcpServer(panel)
        server.host, server.port = args.tcp
        async with server:
            print(f"tcp {server.host}:{server.port}", flush=True)
            await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m device_drivers.display.simulator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--protocol", default=MDC, choices=protocol_names())
    parser.add_argument("--id", type=int, default=1, help="display id (default 1)")
    parser.add_argument("--power-on", action="store_true", help="start powered on")
    parser.add_argument("--profile", default=REFERENCE.name, choices=list(PROFILES),
                        help="how the panel departs from the protocol (see docs/display-control.md)")  # fmt: skip
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--tcp", type=_host_port, metavar="HOST:PORT", help="listen on TCP (port 0: any free)")
    where.add_argument("--pty", action="store_true", help="open a pseudo-terminal and print its path")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(_serve(args))
    except (DriverError, OSError) as err:
        parser.exit(1, f"simulator: {err}\n")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())

"""The hub's own address, for the join QR code and the links it gives to headsets and displays.

Never taken from a request's ``Host`` header: anyone can send any ``Host``, and a forged one
would put another machine's address into the QR code the whole class scans. In order:

1. ``[http] public_url`` when set (what a real room should do);
2. ``[http] host`` when it names one address;
3. the hub's LAN address: the source address of its default route, or else the first
   IPv4 address of a network interface other than loopback (a room LAN without a gateway);
4. ``127.0.0.1``.

The port is ``[http] port``, or the port the connection came in on when that is 0 (tests).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import socket
import struct

from aiohttp import web

from classroom_hub.keys import SETTINGS

_ANY = ("", "0.0.0.0", "::")
_SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address


def hub_url(request: web.Request) -> str:
    http = request.config_dict[SETTINGS].http
    if http.public_url:
        return http.public_url.rstrip("/")
    port = http.port or _local_port(request)
    host = http.host if http.host not in _ANY else lan_address() or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{'https' if request.secure else 'http'}://{host}:{port}"


def lan_address() -> str | None:
    """The hub's IPv4 address on the room's network, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        with contextlib.suppress(OSError):
            # Connecting a UDP socket only looks the route up: nothing is sent (192.0.2.1 is TEST-NET-1).
            probe.connect(("192.0.2.1", 9))
            address = str(probe.getsockname()[0])
            if _usable(address):
                return address
        for _index, name in socket.if_nameindex():
            with contextlib.suppress(OSError):
                answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
                address = socket.inet_ntoa(answer[20:24])
                if _usable(address):
                    return address
    return None


def _usable(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not (ip.is_loopback or ip.is_unspecified or ip.is_link_local)


def _local_port(request: web.Request) -> int:
    sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
    return int(sockname[1]) if sockname else 0

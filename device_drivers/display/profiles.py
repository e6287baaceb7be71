"""How real panels depart from the protocol's happy path, as the simulated panel can play them.

Our first simulator answered everything the hub asked, so it agreed with our driver rather than
with the panels in classrooms. Each profile below is one behaviour the published documentation
describes (sources in docs/display-control.md, "Simulator"), and the hub must cope with every
one of them:

- ``reference``: answers every request the protocol documents (the manuals' examples).
- ``no_all_status``: answers NAK to the MDC all-status request ``0x00`` and every single get
  (power ``0x11``, volume ``0x12``, mute ``0x13``, input ``0x14``) normally, as a panel in a
  school did (issue #13); the samsung-mdc client's troubleshooting also lists NAKs on some
  commands. The hub must then ask field by field.
- ``standby_power_only``: in standby (power off) answers only power (get and set) and refuses
  everything else, NAK or ``-``: "ensure that device is powered on and completely loaded"
  (samsung-mdc troubleshooting); ViewSonic's manuals answer only the power status in standby.
- ``slow_small_buffer``: a panel behind a 9600 bit/s line: the reply comes 0.25 s later, a few
  bytes at a time, and while it works on one request its 16-byte receive buffer drops anything
  beyond (a controller that does not wait for each reply loses requests).
- ``forgetful``: misses one request in three (no answer at all), as a busy panel or a noisy
  line does; a missed poll must not put the display offline on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

BAUD_9600_BYTE_S = 10 / 9600  # 8N1: ten bits on the wire per byte


@dataclass(frozen=True)
class PanelProfile:
    name: str
    # MDC command bytes (0x00...) or ASCII command letters ("l", "!"...) answered NAK / '-'.
    refuses: frozenset[int | str] = frozenset()
    standby_power_only: bool = False  # while off, anything but power is refused
    misses_every: int = 0  # no answer at all to every n-th request (0: never)
    reply_delay_s: float = 0.0  # the panel works this long on each request before answering
    reply_chunk: int = 0  # the reply goes out this many bytes at a time, at line speed (0: at once)
    rx_buffer: int = 0  # bytes kept while it works on a request; more are lost (0: no limit)

    @property
    def busy_while_working(self) -> bool:
        return self.reply_delay_s > 0


REFERENCE = PanelProfile("reference")
PROFILES: dict[str, PanelProfile] = {
    profile.name: profile
    for profile in (
        REFERENCE,
        PanelProfile("no_all_status", refuses=frozenset({0x00})),
        PanelProfile("standby_power_only", standby_power_only=True),
        PanelProfile("slow_small_buffer", reply_delay_s=0.25, reply_chunk=3, rx_buffer=16),
        PanelProfile("forgetful", misses_every=3),
    )
}


def profile_named(name: str) -> PanelProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"no panel profile {name!r} (known: {', '.join(PROFILES)})") from None

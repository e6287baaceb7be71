"""Keeps one kit board connected: finds it, confirms it by HELLO, reconnects, restores state.

Modelled on aiomqtt's reconnect loop: a :class:`KitLink` is one connection; the supervisor
is the ``while True: try: async with link ...`` around it. There is no USB hot-plug event
without udev bindings, so an absent board is looked for again every ``rescan`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from classroom_hub.errors import swallowed
from firmware_bridge.errors import FrameError, KitOffline, LinkLost
from firmware_bridge.kit import KitIdentity, KitListener, LinkState
from firmware_bridge.link import KitLink
from firmware_bridge.payload import Fields, Value
from firmware_bridge.ports import PortFinder

_LOG = logging.getLogger(__name__)

RESTORE_COMMAND = "set"
"""Outputs set with this command are remembered and set again after every reconnect."""


class KitSupervisor:
    """Owns the link to one board, found among ``ports()`` and bound to its device id.

    ``device_id`` pins the board; without it the supervisor binds to the first board that
    answers and follows that one from then on, on whichever port it reappears.
    ``link_options`` are passed to every :class:`KitLink` (timeouts, heartbeat interval).
    """

    def __init__(
        self,
        listener: KitListener,
        ports: PortFinder,
        *,
        device_id: str | None = None,
        rescan: float = 0.5,
        **link_options: Any,
    ) -> None:
        self.device_id = device_id
        self._listener = listener
        self._ports = ports
        self._rescan = rescan
        self._link_options = link_options
        self._link: KitLink | None = None
        self._last_port: str | None = None
        self._desired: dict[str, Value] = {}
        self._task: asyncio.Task[None] | None = None
        self._online = asyncio.Event()
        self._offline = asyncio.Event()
        self._offline.set()
        self.connections = 0
        # Why the kit is offline, in words a technician can act on ("port closed", "board silent").
        self.offline_reason: str | None = None

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name=f"kit-supervisor {self.device_id or 'any'}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The supervising task (None before start and after stop)."""
        return self._task

    @property
    def state(self) -> LinkState:
        return LinkState.ONLINE if self._online.is_set() else LinkState.OFFLINE

    @property
    def identity(self) -> KitIdentity | None:
        return self._link.identity if self._link is not None else None

    @property
    def link(self) -> KitLink | None:
        """The current connection (for its counters); None while offline."""
        return self._link

    @property
    def desired_outputs(self) -> dict[str, Value]:
        return dict(self._desired)

    async def wait_online(self) -> KitIdentity:
        await self._online.wait()
        assert self._link is not None and self._link.identity is not None
        return self._link.identity

    async def wait_offline(self) -> None:
        await self._offline.wait()

    async def command(self, name: str, args: Mapping[str, Value] | None = None) -> Fields:
        """Send a command to the board now; raises KitOffline, CommandNacked or CommandUnanswered."""
        link = self._link
        if link is None or not self._online.is_set():
            raise KitOffline(f"{self.device_id or 'kit'}: offline, cannot send {name!r}")
        result = await link.command(name, args)
        if name == RESTORE_COMMAND and args:
            self._desired.update(args)
        return result

    async def stats(self) -> dict[str, dict[str, int]]:
        """The board's and this end's line counters (:meth:`KitLink.stats`); raises KitOffline."""
        link = self._link
        if link is None or not self._online.is_set():
            raise KitOffline(f"{self.device_id or 'kit'}: offline, cannot read its counters")
        return await link.stats()

    # -- the loop --------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            link = await self._connect()
            try:
                await self._serve(link)
            finally:
                self._link = None
                was_online = self._online.is_set()
                self._online.clear()
                self._offline.set()
                if link.lost is not None:
                    self.offline_reason = f"serial link lost: {link.lost}"
                await link.close()
                if was_online and link.identity is not None:
                    self._safe_state(link.identity.device_id, LinkState.OFFLINE)

    async def _serve(self, link: KitLink) -> None:
        assert link.identity is not None
        identity = link.identity
        self._link = link
        self.connections += 1
        link.listener = self._listener
        try:
            self._listener.on_hello(identity)
        except Exception:
            swallowed("kit_listener_failed", device=identity.device_id, call="on_hello")
        if self._desired:
            try:
                await link.command(RESTORE_COMMAND, self._desired)
            except LinkLost:
                return
            except FrameError as err:
                _LOG.warning("%s: could not restore outputs %s: %s", identity.device_id, self._desired, err)
        if not link.is_up:
            return
        self._offline.clear()
        self._online.set()
        self._safe_state(identity.device_id, LinkState.ONLINE)
        reason = await link.wait_lost()
        _LOG.info("%s offline: %s", identity.device_id, reason)

    async def _connect(self) -> KitLink:
        loop = asyncio.get_running_loop()
        while True:
            try:
                candidates = list(await loop.run_in_executor(None, self._ports))
            except OSError as err:
                _LOG.warning("listing serial ports failed: %s", err)
                candidates = []
            if self._last_port in candidates:
                candidates.remove(self._last_port)
                candidates.insert(0, self._last_port)
            for port in candidates:
                link = await self._try_port(port)
                if link is not None:
                    return link
            if self.connections == 0 and self.offline_reason is None and self.device_id is not None:
                # Never seen since the hub started: say so once, rather than "unknown" for ever.
                where = ", ".join(candidates) if candidates else "no matching serial port"
                self.offline_reason = f"kit not found ({where})"
                self._safe_state(self.device_id, LinkState.OFFLINE)
            await asyncio.sleep(self._rescan)

    async def _try_port(self, port: str) -> KitLink | None:
        link = KitLink(port, **self._link_options)
        try:
            identity = await link.open()
        except FrameError as err:
            _LOG.debug("%s: no kit: %s", port, err)
            await link.close()
            return None
        if self.device_id is not None and identity.device_id != self.device_id:
            _LOG.debug("%s: board %r is not %r", port, identity.device_id, self.device_id)
            await link.close()
            return None
        self.device_id = identity.device_id
        self._last_port = port
        return link

    def _safe_state(self, device_id: str, state: LinkState) -> None:
        try:
            self._listener.on_state(device_id, state)
        except Exception:
            swallowed("kit_listener_failed", device=device_id, call="on_state")

"""Pre-roll: at a booking's start the displays and cameras come on and the chosen presets are recalled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from classroom_hub.wired.keys import WIRED
from device_drivers.camera.visca import Direction
from device_drivers.display.simulator import PanelState, PanelTcpServer, SimulatedPanel
from studio.api import PtzRequest
from studio.keys import STUDIO
from studio.live import Studio
from tests.conftest import run_hub, wait_for
from tests.studio.conftest import ROOM, book_now, small_settings, studio_room, synthetic_rig


async def test_a_booking_about_to_start_wakes_the_studio_up(tmp_path: Path) -> None:
    panel = SimulatedPanel("samsung_mdc", display_id=1, state=PanelState(power=False))
    async with PanelTcpServer(panel) as server:
        display = {"kind": "display", "protocol": "samsung_mdc", "display_id": 1,
                   "transport": {"type": "tcp", "host": "127.0.0.1", "port": server.port}}  # fmt: skip
        studio = Studio(small_settings(), synthetic_rig(displays=(("display-86", display),)), tmp_path, ROOM)
        await studio.start()
        try:
            head = studio.cameras.cameras["cam-1"].head
            assert head is not None
            # The technician aimed camera 1 at the board and stored it as preset 3, then everything was switched off.
            await studio.ptz(PtzRequest(camera="cam-1", action="drive", direction=Direction.UP_RIGHT, speed=20))
            await wait_for(lambda: head.position()[0] > 300, timeout=5)
            await studio.ptz(PtzRequest(camera="cam-1", action="stop"))
            at_board = head.position()
            await studio.ptz(PtzRequest(camera="cam-1", action="preset_set", number=3))
            await studio.ptz(PtzRequest(camera="cam-1", action="home"))
            await studio.ptz(PtzRequest(camera="cam-1", action="power", on=False))
            await studio.ptz(PtzRequest(camera="cam-2", action="power", on=False))

            events: list[dict[str, Any]] = []
            studio.on_event(events.append)
            booking = await book_now(studio, **{"cam-1": 3})

            await wait_for(lambda: panel.state.power and head.powered, timeout=10)
            await wait_for(lambda: head.position() == at_board, timeout=5)
            assert studio.cameras.cameras["cam-2"].head is not None
            await wait_for(lambda: studio.cameras.cameras["cam-2"].head.powered, timeout=5)  # type: ignore[union-attr]
            # The report is shown on the page and kept with the booking, so it runs once only.
            await wait_for(lambda: [e["type"] for e in events].count("bookings") >= 2, timeout=5)
            [shown] = [e for e in events if e["type"] == "preroll"]
            expected = {"display-86": "on", "cam-1": "on, preset 3", "cam-2": "on"}
            assert shown == {"type": "preroll", "booking": booking.id, "report": expected}
            done = await studio.bookings.get(booking.id)
            assert done.preroll_report == expected and done.preroll_at is not None
            assert await studio.bookings.next_preroll() is None
        finally:
            await studio.close()


async def test_inside_the_hub_the_display_is_switched_on_through_the_hubs_own_driver(tmp_path: Path) -> None:
    panel = SimulatedPanel("samsung_mdc", display_id=1, state=PanelState(power=False))
    async with PanelTcpServer(panel) as server:
        display = {"kind": "display", "id": "display-86", "protocol": "samsung_mdc",
                   "transport": {"type": "tcp", "host": "127.0.0.1", "port": server.port}}  # fmt: skip
        async with run_hub(studio_room(tmp_path, display)) as hub:
            studio = hub.app[STUDIO]
            assert hub.app[WIRED].handles("display-86"), "the hub drives this display itself"
            await wait_for(lambda: len(server.peers) == 1, timeout=10)
            peer = next(iter(server.peers))
            await book_now(studio)
            await wait_for(lambda: panel.state.power, timeout=10)
            assert server.peers == {peer}, "the pre-roll used the hub's connection, not a second one"

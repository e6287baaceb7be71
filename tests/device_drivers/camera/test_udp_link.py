"""VISCA over IP through real UDP sockets on 127.0.0.1: sequence numbers, reset, loss and retries."""

from __future__ import annotations

import asyncio
import socket

import pytest

from device_drivers.camera import Direction, PtzCamera, PtzLinkError, PtzTimeout, Timeouts
from device_drivers.camera.simulator import IpCameraSimulator
from device_drivers.camera.visca import PanTiltAbsolute, PanTiltDrive, PanTiltHome
from device_drivers.camera.visca_ip import IpMessage, PayloadType, decode_message, reset_message


def sequences(simulator: IpCameraSimulator) -> list[tuple[str, int]]:
    return [(message.payload_type.name, message.sequence) for message in simulator.received]


async def test_opening_resets_the_sequence_and_numbering_then_counts_up(
    ip_sim: IpCameraSimulator, fast: Timeouts
) -> None:
    async with PtzCamera.over_ip(*ip_sim.address, timeouts=fast) as camera:
        await camera.home()
        await camera.position()
    assert ip_sim.received[0] == reset_message(0)
    assert sequences(ip_sim) == [
        ("CONTROL_COMMAND", 0),
        ("VISCA_COMMAND", 1),
        ("VISCA_INQUIRY", 2),
        ("VISCA_INQUIRY", 3),
    ]


async def test_a_second_controller_starts_again_at_one_thanks_to_the_reset(
    ip_sim: IpCameraSimulator, fast: Timeouts
) -> None:
    async with PtzCamera.over_ip(*ip_sim.address, timeouts=fast) as first:
        for _ in range(3):
            await first.home()
    async with PtzCamera.over_ip(*ip_sim.address, timeouts=fast) as second:
        await second.move_to(300, 0)
        assert (await second.position()).pan == 300
    assert sequences(ip_sim)[4:7] == [("CONTROL_COMMAND", 0), ("VISCA_COMMAND", 1), ("VISCA_INQUIRY", 2)]


async def test_the_simulator_refuses_an_old_sequence_number_until_reset(ip_sim: IpCameraSimulator) -> None:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        raw.setblocking(False)
        await loop.sock_connect(raw, ip_sim.address)

        async def ask(message: IpMessage) -> list[IpMessage]:
            await loop.sock_sendall(raw, message.encode())
            replies = [decode_message(await asyncio.wait_for(loop.sock_recv(raw, 64), 2))]
            if replies[0].payload_type is PayloadType.VISCA_REPLY and replies[0].payload[1] & 0xF0 == 0x40:
                # an ACK: the completion follows
                replies.append(decode_message(await asyncio.wait_for(loop.sock_recv(raw, 64), 2)))
            return replies

        home = PanTiltHome().encode()
        accepted = await ask(IpMessage(PayloadType.VISCA_COMMAND, 5, home))
        assert [reply.payload.hex(" ") for reply in accepted] == ["90 41 ff", "90 51 ff"]
        assert {reply.sequence for reply in accepted} == {5}
        refused = await ask(IpMessage(PayloadType.VISCA_COMMAND, 5, home))
        assert refused == [IpMessage(PayloadType.CONTROL_REPLY, 5, b"\x0f\x01")]
        assert await ask(reset_message(9)) == [IpMessage(PayloadType.CONTROL_REPLY, 9, b"\x01")]
        assert (await ask(IpMessage(PayloadType.VISCA_COMMAND, 1, home)))[0].payload == bytes.fromhex("90 42 ff")
        mislabelled = await ask(IpMessage(PayloadType.VISCA_INQUIRY, 2, home))
        assert mislabelled == [IpMessage(PayloadType.CONTROL_REPLY, 2, b"\x0f\x02")]


async def test_a_lost_command_is_sent_again_with_the_same_sequence_number(
    ip_sim: IpCameraSimulator, fast: Timeouts
) -> None:
    async with PtzCamera.over_ip(*ip_sim.address, timeouts=fast) as camera:
        ip_sim.lose_requests = 1
        await camera.drive(Direction.UP, pan_speed=2, tilt_speed=2)
        await camera.stop()
    assert sequences(ip_sim)[1:] == [("VISCA_COMMAND", 1), ("VISCA_COMMAND", 1), ("VISCA_COMMAND", 2)]
    assert ip_sim.head.executed == [PanTiltDrive(Direction.UP, 2, 2), PanTiltDrive(Direction.STOP)]


async def test_lost_replies_do_not_make_the_camera_run_a_command_twice(
    ip_sim: IpCameraSimulator, fast: Timeouts
) -> None:
    async with PtzCamera.over_ip(*ip_sim.address, timeouts=fast) as camera:
        ip_sim.lose_replies = 2  # the ACK and the completion
        await camera.preset_set(1)  # resent; the camera says it already did that number: done
        await camera.home()
    assert sequences(ip_sim)[1:] == [("VISCA_COMMAND", 1), ("VISCA_COMMAND", 1), ("VISCA_COMMAND", 2)]
    assert len(ip_sim.head.executed) == 2


async def test_a_lost_inquiry_answer_is_asked_again_under_a_new_number(
    ip_sim: IpCameraSimulator, fast: Timeouts
) -> None:
    async with PtzCamera.over_ip(*ip_sim.address, timeouts=fast) as camera:
        await camera.move_to(-50, 40)
        ip_sim.lose_replies = 1
        assert await camera.position() == (-50, 40, 0)
    assert sequences(ip_sim)[2:] == [
        ("VISCA_INQUIRY", 2),
        ("VISCA_INQUIRY", 2),  # same number: the camera answers "already handled"
        ("VISCA_INQUIRY", 3),  # new number: the real answer
        ("VISCA_INQUIRY", 4),
    ]


async def test_a_silent_camera_times_out_after_one_retry(ip_sim: IpCameraSimulator, fast: Timeouts) -> None:
    ip_sim.muted = True
    camera = PtzCamera.over_ip(*ip_sim.address, timeouts=fast)
    with pytest.raises(PtzTimeout, match="sequence reset: no control reply"):
        async with camera:
            pass
    assert sequences(ip_sim) == [("CONTROL_COMMAND", 0), ("CONTROL_COMMAND", 0)]


async def test_a_camera_that_goes_silent_mid_session_times_out(ip_sim: IpCameraSimulator, fast: Timeouts) -> None:
    async with PtzCamera.over_ip(*ip_sim.address, timeouts=fast) as camera:
        ip_sim.muted = True
        with pytest.raises(PtzTimeout) as timed_out:
            await camera.home()
        assert timed_out.value.waiting_for == "acknowledgement"
    assert sequences(ip_sim)[1:] == [("VISCA_COMMAND", 1), ("VISCA_COMMAND", 1)]


async def test_nothing_listening_at_the_address_is_a_link_error(fast: Timeouts) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PtzLinkError, match=r"sequence reset: .*refused"):
        async with PtzCamera.over_ip("127.0.0.1", port, timeouts=fast):
            pass


async def test_two_controllers_sharing_a_camera_resynchronise_by_resetting(
    ip_sim: IpCameraSimulator, fast: Timeouts
) -> None:
    async with (
        PtzCamera.over_ip(*ip_sim.address, timeouts=fast) as desk,
        PtzCamera.over_ip(*ip_sim.address, timeouts=fast) as studio_page,
    ):
        for _ in range(3):
            await studio_page.home()  # the camera's count is now at 3
        await desk.move_to(120, 60)  # sequence 1 is refused; the desk resets and sends it again
        assert await studio_page.position() == (120, 60, 0)
    # after both resets and the page's 1, 2, 3: the desk's refused 1, its reset, its 1 again
    assert sequences(ip_sim)[5:8] == [("VISCA_COMMAND", 1), ("CONTROL_COMMAND", 0), ("VISCA_COMMAND", 1)]
    assert sum(isinstance(command, PanTiltAbsolute) for command in ip_sim.head.executed) == 1

"""Every device of the room as one fleet: group commands with per-device results, the devices'
alarm rules (classroom_hub/alarms), battery and online history, and the scene bundles headsets
fetch from the hub."""

from classroom_hub.fleet.commands import DeviceResult, DirectRoute, FleetCommands, GroupResult
from classroom_hub.fleet.part import FLEET, Fleet, fleet_part
from classroom_hub.fleet.scenes import Scene, SceneShelf
from classroom_hub.fleet.targets import Target

__all__ = [
    "FLEET",
    "DeviceResult",
    "DirectRoute",
    "Fleet",
    "FleetCommands",
    "GroupResult",
    "Scene",
    "SceneShelf",
    "Target",
    "fleet_part",
]

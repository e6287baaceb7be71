"""Device kind ``display``: the room's interactive panel, driven by the hub over RS-232 or TCP."""

from __future__ import annotations

from pathlib import Path

from device_drivers.display.commands import CATALOGUE
from device_drivers.display.settings import Display
from device_drivers.entities import Entity, status_flag, status_value
from device_drivers.kinds import DeviceKind

POWER = Entity("power", "binary_sensor", status_flag("power"), device_class="power")
INPUT = Entity("input", "sensor", status_value("input"), {"en": "Input", "vi": "Nguồn vào"})
VOLUME = Entity("volume", "sensor", status_value("volume"), {"en": "Volume", "vi": "Âm lượng"}, measurement=True)
MUTE = Entity("mute", "binary_sensor", status_flag("mute"), {"en": "Muted", "vi": "Tắt tiếng"})

KIND = DeviceKind(
    name="display",
    settings=Display,
    commands=CATALOGUE,
    entities=(POWER, INPUT, VOLUME, MUTE),
    driver="device_drivers.display.driver:DisplayDriver",
    simulator="device_drivers.display.simulate:simulate",
    simulate_before_hub=True,  # the hub then finds its panel at once instead of at the next poll
    translations=Path(__file__).parent / "i18n",
)

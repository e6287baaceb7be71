"""The room's interactive display (86" panel): Samsung MDC or ViewSonic-style ASCII, RS-232 or TCP.

Importing this package registers the driver as device kind ``display``.
"""

from device_drivers.display.driver import DisplayConfig, DisplayDriver
from device_drivers.display.protocols import DisplayStatus, protocol_names

__all__ = ["DisplayConfig", "DisplayDriver", "DisplayStatus", "protocol_names"]

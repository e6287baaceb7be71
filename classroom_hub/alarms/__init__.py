"""The room's alarms: one service that keeps, tells and acknowledges every alarm (devices and
labs alike, one table, one list on /tech), and the devices' own rules for raising them."""

from classroom_hub.alarms.devices import ALARM_KINDS, AlarmKind, AlarmLimits, DeviceAlarms
from classroom_hub.alarms.model import SEVERITY_ORDER, Alarm, Severity
from classroom_hub.alarms.service import AlarmListener, AlarmService

__all__ = [
    "ALARM_KINDS",
    "SEVERITY_ORDER",
    "Alarm",
    "AlarmKind",
    "AlarmLimits",
    "AlarmListener",
    "AlarmService",
    "DeviceAlarms",
    "Severity",
]

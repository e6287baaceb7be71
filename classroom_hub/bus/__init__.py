"""The room's MQTT bus: topics, payloads, the reconnecting link, commands with replies."""

from classroom_hub.bus.commands import Commands
from classroom_hub.bus.link import Message, MqttLink, Will

__all__ = ["Commands", "Message", "MqttLink", "Will"]

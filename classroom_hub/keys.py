"""The hub core's shared objects: one typed ``web.AppKey`` each.

This module imports nothing of the hub at run time (the types come in for the type checker
only), so any module may import it without an import cycle: the application (app.py) puts
the objects on the app, handlers read them with ``request.config_dict[KEY]`` (which also
finds them from a package's sub-application), packages read them in their ``setup``.
Each package keeps its own keys in its own ``keys.py`` (``classroom_hub/lessons/keys.py``,
``studio/keys.py``...).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from classroom_hub.alarms import AlarmService
    from classroom_hub.alarms.hub import HubWatch
    from classroom_hub.auth import Accounts
    from classroom_hub.bus.commands import Commands
    from classroom_hub.bus.link import MqttLink
    from classroom_hub.clock import Clock
    from classroom_hub.health import Health
    from classroom_hub.ingest import Ingest
    from classroom_hub.packages import Package
    from classroom_hub.registry import DeviceRegistry
    from classroom_hub.rejects import Rejections
    from classroom_hub.store import TelemetryStore
    from config.settings import HubSettings

SETTINGS: web.AppKey[HubSettings] = web.AppKey("settings")
STORE: web.AppKey[TelemetryStore] = web.AppKey("store")
ACCOUNTS: web.AppKey[Accounts] = web.AppKey("accounts")
REGISTRY: web.AppKey[DeviceRegistry] = web.AppKey("registry")
LINK: web.AppKey[MqttLink] = web.AppKey("link")
COMMANDS: web.AppKey[Commands] = web.AppKey("commands")
INGEST: web.AppKey[Ingest] = web.AppKey("ingest")
REJECTIONS: web.AppKey[Rejections] = web.AppKey("rejections")
HEALTH: web.AppKey[Health] = web.AppKey("health")
BROKER_URL: web.AppKey[str] = web.AppKey("broker_url")
LINK_TASK: web.AppKey[asyncio.Task[None]] = web.AppKey("link_task")
PACKAGES: web.AppKey[list[Package]] = web.AppKey("packages")  # those set up on this hub, in order
CATALOGUES: web.AppKey[dict[str, bytes]] = web.AppKey("catalogues")  # /i18n/<lang>.json, merged at start
CLOCK: web.AppKey[Clock] = web.AppKey("clock")  # time as the parts see it: the real clock, a fake one in tests
ALARMS: web.AppKey[AlarmService] = web.AppKey("alarms")  # every alarm of the room, devices' and labs'
HUB_WATCH: web.AppKey[HubWatch] = web.AppKey("hub_watch")  # the hub's own faults as alarms; packages add checks
# The open WebSockets of every page, closed when the hub shuts down.
SOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("sockets")

"""One exception root for the hub; library errors are translated at the boundary with ``from err``."""


class HubError(Exception):
    """Base of every error the hub raises on purpose."""


class BusError(HubError):
    """The MQTT link failed or is not connected."""


class CommandError(HubError):
    """A device command could not be completed."""


class CommandTimeout(CommandError):
    """No reply arrived before the command's deadline."""


class CommandFailed(CommandError):
    """The device replied with an error."""

    def __init__(self, device_id: str, name: str, error: str) -> None:
        super().__init__(f"{device_id}: {name} failed: {error}")
        self.device_id = device_id
        self.name = name
        self.error = error


class StoreError(HubError):
    """The telemetry store could not read or write."""


class AuthError(HubError):
    """Login or permission failure."""

"""One exception root for the pusher, and the two ways a delivery fails."""

from classroom_hub.errors import HubError


class PushError(HubError):
    """The pusher (or one of its destinations, the materials bank, the roster pull) failed."""

    code = "push_failed"
    http_status = 502


class Unreachable(PushError):
    """The destination cannot take anything now (down, network, credentials, not migrated).

    Nothing is wrong with the records: the courier waits (exponential backoff with jitter)
    and sends the same batch again.
    """

    code = "unreachable"
    http_status = 503


class Rejected(PushError):
    """The destination refused this batch because of what is in it.

    The courier splits the batch to find the records at fault and quarantines them; the
    others are delivered. ``suspect`` marks an answer that may also mean a broken server
    (HTTP 500): a lone record is only quarantined if others got through meanwhile.
    """

    code = "rejected"
    http_status = 502

    def __init__(self, reason: str, *, suspect: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.suspect = suspect


class DestinationUnavailable(PushError):
    """A destination cannot be used at all on this hub (a missing optional package)."""

    code = "destination_unavailable"
    http_status = 503


class MaterialsError(PushError):
    """The materials bank could not be listed, a package could not be fetched, verified or imported."""

    code = "materials_failed"
    http_status = 502

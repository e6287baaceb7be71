"""Store and forward: the hub's records to the central database and xAPI LRSs, rosters and materials in.

See docs/central-database.md (destinations, the materials bank API) and docs/privacy.md.
The hub starts it with :func:`classroom_hub.pusher.web.setup`; the CLI is ``classroom-hub push ...``.
"""

from classroom_hub.backoff import Backoff
from classroom_hub.pusher.courier import Courier
from classroom_hub.pusher.destination import Delivery, Destination, HubIdentity, load_destination
from classroom_hub.pusher.errors import (
    DestinationUnavailable,
    MaterialsError,
    PushError,
    Rejected,
    Unreachable,
)
from classroom_hub.pusher.privacy import Pseudonymiser, mask_personal
from classroom_hub.pusher.pusher import DestinationReport, Pusher, PushReport

__all__ = [
    "Backoff",
    "Courier",
    "Delivery",
    "Destination",
    "DestinationReport",
    "DestinationUnavailable",
    "HubIdentity",
    "MaterialsError",
    "Pseudonymiser",
    "PushError",
    "PushReport",
    "Pusher",
    "Rejected",
    "Unreachable",
    "load_destination",
    "mask_personal",
]

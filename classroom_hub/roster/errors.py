"""One exception root for the roster package."""

from classroom_hub.errors import HubError


class RosterError(HubError):
    """The roster could not be read, written or cached."""

    code = "roster_unavailable"
    http_status = 503


class BundleError(RosterError):
    """A OneRoster bundle cannot be read at all (missing, not a folder or zip, wrong version).

    Bad *rows* never raise: they are listed in the import report and the good rows are kept.
    """

    code = "bad_bundle"
    http_status = 400

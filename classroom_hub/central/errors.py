"""One exception root for the central database package."""

from classroom_hub.errors import HubError


class CentralError(HubError):
    """The central database could not be reached, migrated, read or written."""

    code = "central_unavailable"
    http_status = 503


class CentralDataError(CentralError):
    """The central database holds a row the hub cannot use (it refuses the whole pull, keeping its copy)."""

    code = "central_bad_data"
    http_status = 502


class MigrationError(CentralError):
    """A migration failed, or the database's migration history does not match this hub's files."""

    code = "migration_failed"
    http_status = 500

"""The central PostgreSQL database of the province: its schema, migrations and roster exchange.

See docs/central-database.md.
"""

from classroom_hub.central.errors import CentralError, MigrationError
from classroom_hub.central.migrate import (
    Migration,
    MigrationReport,
    bundled_migrations,
    ensure_sensor_partitions,
    migrate,
)
from classroom_hub.central.roster_sync import roster_from_central, roster_to_central

__all__ = [
    "CentralError",
    "Migration",
    "MigrationError",
    "MigrationReport",
    "bundled_migrations",
    "ensure_sensor_partitions",
    "migrate",
    "roster_from_central",
    "roster_to_central",
]

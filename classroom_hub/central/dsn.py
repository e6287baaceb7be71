"""Connection strings, shown without their password."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def safe_dsn(dsn: str) -> str:
    """The DSN as it may appear in logs and errors: ``postgresql://hub:***@central/edu``."""
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return "<unparsable dsn>"
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))

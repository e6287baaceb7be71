"""The hub's durable SQLite store: readings, statements, device events, outbox cursors."""

from classroom_hub.store.store import EventRow, ReadingRow, TelemetryStore

__all__ = ["EventRow", "ReadingRow", "TelemetryStore"]

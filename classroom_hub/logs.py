"""Structured logs: one line per event, ``key=value`` pairs after the time, level and logger."""

from __future__ import annotations

import logging
import sys
import time


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created))
        message = record.getMessage()
        if not message.startswith("event="):
            message = f"msg={message!r}"
        line = f"ts={stamp}.{int(record.msecs):03d} level={record.levelname.lower()} logger={record.name} {message}"
        if record.exc_info:
            line += " exc=" + repr(self.formatException(record.exc_info))
        return line


def setup_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Third-party chatter below WARNING says nothing a technician can act on.
    for noisy in ("aiohttp.access", "amqtt", "transitions", "classroom_hub.bus.link.paho"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))

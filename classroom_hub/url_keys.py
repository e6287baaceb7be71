"""Keys in addresses handed to one reader: an HMAC of what the address names under a secret of
this hub, so it can be neither guessed from a public hash nor moved to another name.

One secret file per use (``<data_dir>/lesson-files.key``, ``<data_dir>/scene-files.key``), 32
random bytes readable by the hub's user only, made when missing or damaged; removing it changes
every key of that use. Used by the lessons' file addresses (lessons/file_keys.py) and the
headsets' scene downloads (fleet/scenes/keys.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)

SECRET_BYTES = 32


class UrlKeys:
    def __init__(self, secret: bytes, use: str) -> None:
        self._secret = secret
        self._use = use

    @classmethod
    def load(cls, path: Path, use: str) -> UrlKeys:
        """The secret in ``path``, made when missing or not 32 bytes. Raises OSError when the
        file can be neither read nor written."""
        try:
            secret = path.read_bytes()
        except FileNotFoundError:
            secret = b""
        if len(secret) != SECRET_BYTES:
            if secret:
                log.warning("event=url_key_replaced use=%s path=%s reason='not %d bytes'", use, path, SECRET_BYTES)
            secret = secrets.token_bytes(SECRET_BYTES)
            _write_private(path, secret)
        return cls(secret, use)

    def key(self, *names: str) -> str:
        digest = hmac.new(self._secret, ":".join((self._use, *names)).encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")

    def check(self, key: str, *names: str) -> bool:
        return hmac.compare_digest(self.key(*names).encode(), key.encode())


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".new")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, path)

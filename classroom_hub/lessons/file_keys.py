"""The keys in the addresses of a lesson's files.

Tablets, the display and the teacher's page load the running lesson's files from
``/lesson/<hash>.<key>/<path>``. The key is an HMAC of the lesson's content hash under a
secret of this hub, so it cannot be guessed from the hash (sample lessons are public, their
hashes too); the hub hands it out only inside the lesson's state, that is, to a tablet seated
with its join token, a paired display and the teacher. Being in the path, it reaches every
request a file makes, including those of a sandboxed HTML slide (which carry no cookies),
and it is the same for every run of a lesson, so a tablet keeps its cached videos from one
class to the next.

Removing the secret file (``<data_dir>/lesson-files.key``) changes every key: files handed
out earlier stop working on the next lesson.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from classroom_hub.lessons.errors import LessonError, Problem

log = logging.getLogger(__name__)

KEY_FILE = "lesson-files.key"
_SECRET_BYTES = 32


class FileKeys:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def load(cls, path: Path) -> FileKeys:
        """The hub's secret from ``path``, made (readable by the hub's user only) when missing or damaged."""
        try:
            secret = path.read_bytes()
        except FileNotFoundError:
            secret = b""
        except OSError as err:
            raise LessonError([Problem(str(path), "", f"cannot read: {err}")]) from err
        if len(secret) != _SECRET_BYTES:
            if secret:
                log.warning("event=lesson_file_key_replaced path=%s reason='not %d bytes'", path, _SECRET_BYTES)
            secret = secrets.token_bytes(_SECRET_BYTES)
            try:
                _write_private(path, secret)
            except OSError as err:
                raise LessonError([Problem(str(path), "", f"cannot write: {err}")]) from err
        return cls(secret)

    def key(self, lesson_hash: str) -> str:
        digest = hmac.new(self._secret, f"lesson-files:{lesson_hash}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")

    def check(self, lesson_hash: str, key: str) -> bool:
        return hmac.compare_digest(self.key(lesson_hash).encode(), key.encode())


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

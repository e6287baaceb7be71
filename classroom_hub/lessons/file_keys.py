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

from pathlib import Path

from classroom_hub.lessons.errors import LessonError, Problem
from classroom_hub.url_keys import UrlKeys

KEY_FILE = "lesson-files.key"


class FileKeys:
    def __init__(self, keys: UrlKeys) -> None:
        self._keys = keys

    @classmethod
    def load(cls, path: Path) -> FileKeys:
        """The hub's secret from ``path``, made (readable by the hub's user only) when missing or damaged."""
        try:
            return cls(UrlKeys.load(path, "lesson-files"))
        except OSError as err:
            raise LessonError([Problem(str(path), "", f"cannot read or write: {err}")]) from err

    def key(self, lesson_hash: str) -> str:
        return self._keys.key(lesson_hash)

    def check(self, lesson_hash: str, key: str) -> bool:
        return self._keys.check(key, lesson_hash)

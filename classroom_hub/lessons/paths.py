"""Rules for the names of files inside a lesson package.

Names are relative POSIX paths (``slides/01.svg``), compared after Unicode NFC
normalisation so that a zip made on macOS (which stores decomposed accents) matches a
manifest typed on Windows. Anything that could point outside the package (``..``,
absolute paths, drive letters, backslashes) is refused, whoever wrote it: the manifest,
a zip entry or a URL on the hub.
"""

from __future__ import annotations

import unicodedata

MANIFEST_NAME = "lesson.json"

# Files authoring tools leave behind; never part of a package (nor of its hash).
_JUNK_NAMES = frozenset({"__MACOSX", "Thumbs.db", "desktop.ini"})
_MAX_PATH_CHARS = 512
_MAX_PART_BYTES = 255


def check_package_path(name: str, *, hidden_ok: bool = False) -> str:
    """Return ``name`` normalised (NFC) if it is a safe relative path inside a package.

    Raises ``ValueError`` saying what is wrong otherwise. ``hidden_ok`` lets hidden and
    tool files through (when listing a zip or folder, which then skips them with
    :func:`is_ignored`); a manifest may never refer to one.
    """
    if not name:
        raise ValueError("empty file name")
    if len(name) > _MAX_PATH_CHARS:
        raise ValueError(f"file name longer than {_MAX_PATH_CHARS} characters")
    if "\\" in name:
        raise ValueError(f"{name!r} contains a backslash; use '/' between folders")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise ValueError(f"{name!r} contains a control character")
    if name.startswith("/"):
        raise ValueError(f"{name!r} is an absolute path; give it relative to the package folder")
    if ":" in name:
        raise ValueError(f"{name!r} contains ':' (a drive letter or URL is not a file in the package)")
    name = unicodedata.normalize("NFC", name)
    for part in name.split("/"):
        if part in ("", "."):
            raise ValueError(f"{name!r} has an empty or '.' folder name")
        if part == "..":
            raise ValueError(f"{name!r} goes outside the package ('..')")
        if not hidden_ok and (part.startswith(".") or part in _JUNK_NAMES):
            raise ValueError(f"{name!r} names a hidden or system file, which is not part of a package")
        if len(part.encode("utf-8")) > _MAX_PART_BYTES:
            raise ValueError(f"{name!r} has a name part longer than {_MAX_PART_BYTES} bytes")
    return name


def is_ignored(name: str) -> bool:
    """True for hidden files and tool litter (``.git/``, ``.DS_Store``, ``__MACOSX/``, ``Thumbs.db``)."""
    return any(part.startswith(".") or part in _JUNK_NAMES for part in name.split("/"))

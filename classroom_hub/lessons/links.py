"""Where a link the teacher sends to the tablets may point (docs/protocol.md, section 9).

A link reaches every tablet at once and a student taps it, so the hub checks it before it goes:

* the hub's own pages: a path that starts with one ``/`` (``/join``, ``/lesson/...``), never
  ``//host`` or ``/\\host``, which browsers read as another host;
* or an address under one of the room's allowed prefixes (``[lessons] links``), compared as
  parsed addresses: the same scheme, host and port, and a path under the prefix's path at a
  segment boundary, so ``https://vi.wikipedia.org.evil.example/`` and
  ``https://vi.wikipedia.org@evil.example/`` are not Wikipedia.

Only ``http`` and ``https``: a ``javascript:`` or ``data:`` link would run inside the lesson
page's origin, where the seat token is kept; an ``intent:`` or ``file:`` one would open an app
or a file of the tablet. No user name or password, no spaces and no control characters
(browsers drop a tab or a newline from an address, so ``/<tab>/evil.example`` would become
``//evil.example``).
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")
_PORTS = {"http": 80, "https": 443}


class LinkRefused(ValueError):
    """The link may not be sent; the message says why, in English for the log and the client."""


def check_prefix(prefix: str) -> str:
    """An allowed prefix of the room file, normalised; ValueError says what is wrong with it."""
    parts = _absolute(prefix)
    return _join(parts)


def check_link(url: str, allowed: list[str]) -> str:
    """``url`` as it will be sent, if it is a hub page or under an ``allowed`` prefix; else :class:`LinkRefused`."""
    if _UNSAFE.search(url):
        raise LinkRefused("a link may not hold spaces, control characters or backslashes")
    if url.startswith("/"):
        if url.startswith("//"):
            raise LinkRefused("'//' starts another host's address: a hub page starts with a single '/'")
        return url
    try:
        parts = _absolute(url)
    except ValueError as err:
        raise LinkRefused(str(err)) from None
    for prefix in allowed:
        if _under(parts, urlsplit(prefix)):
            return _join(parts)
    where = ", ".join(allowed) if allowed else "none in this room ([lessons] links)"
    raise LinkRefused(f"only the hub's own pages (a path starting with '/') and addresses under: {where}")


def _absolute(url: str) -> SplitResult:
    if _UNSAFE.search(url):
        raise ValueError("an address may not hold spaces, control characters or backslashes")
    parts = urlsplit(url)
    if parts.scheme.lower() not in _PORTS:
        raise ValueError("only http:// and https:// addresses")
    if not parts.hostname:
        raise ValueError("the address names no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("an address with a user name or password ('user@host') is refused")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as err:
        raise ValueError(f"bad port: {err}") from None
    return parts


def _join(parts: SplitResult) -> str:
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port not in (None, _PORTS[scheme]) else ""
    query = f"?{parts.query}" if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{scheme}://{host}{port}{parts.path or '/'}{query}{fragment}"


def _under(link: SplitResult, prefix: SplitResult) -> bool:
    scheme = link.scheme.lower()
    if scheme != prefix.scheme.lower() or (link.hostname or "").lower() != (prefix.hostname or "").lower():
        return False
    if (link.port or _PORTS[scheme]) != (prefix.port or _PORTS[scheme]):
        return False
    base = prefix.path or "/"
    path = link.path or "/"
    return path == base or path.startswith(base if base.endswith("/") else base + "/")

"""What an HTML slide loads, so a package that would need the internet is refused at import.

HTML slides are shown in a sandboxed frame on tablets that may have no internet at all:
every image, style sheet, script or font they load must be inside the package. Links a
student may click (``<a href>``) are not loads and are not checked.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Attributes that make the browser fetch something, by tag (None: on any tag).
_LOADING_ATTRIBUTES: dict[str, frozenset[str] | None] = {
    "src": None,
    "poster": None,
    "srcset": None,
    "data": frozenset({"object"}),
    "href": frozenset({"link", "image", "use"}),
    "xlink:href": frozenset({"image", "use"}),
}
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""", re.IGNORECASE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_INLINE_SCHEMES = ("data:", "blob:", "about:", "javascript:")


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        for name, value in attrs:
            if value is None:
                continue
            if name == "style":
                self.found.extend(css_references(value))
                continue
            tags = _LOADING_ATTRIBUTES.get(name, frozenset())
            if tags is not None and tag not in tags:
                continue
            if name == "srcset":
                self.found.extend(part.split()[0] for part in value.split(",") if part.strip())
            else:
                self.found.append(value.strip())

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._in_style = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found.extend(css_references(data))


def css_references(css: str) -> list[str]:
    """The URLs a piece of CSS loads (``url(...)`` and ``@import``)."""
    return [(m.group(2) or m.group(4)).strip() for m in _CSS_URL.finditer(css)]


def loaded_references(html: str) -> list[str]:
    """Every URL the page would fetch, as written (relative or absolute), inline ``data:`` ones left out."""
    parser = _References()
    parser.feed(html)
    parser.close()
    return [
        ref for ref in parser.found if ref and not ref.startswith("#") and not ref.lower().startswith(_INLINE_SCHEMES)
    ]


def is_remote(reference: str) -> bool:
    """True for ``https://...``, ``//cdn...`` and any other URL with a scheme: it leaves the package."""
    return reference.startswith("//") or bool(_SCHEME.match(reference))

"""The browser libraries the Makefile installs from npm into ``static/vendor/`` (``make vendor``),
and what the pages' Content-Security-Policy must allow for them, and on which pages only.

The 3D viewer of a lesson's model steps, ``@google/model-viewer``, puts one ``<style>`` block
into each viewer's shadow tree. The pages' policy allows no inline style; the pages that show
lesson steps allow exactly that block, by its SHA-256, computed here from the installed file
itself (so an upgrade of the viewer needs no edit here). Everything else it needs is already
allowed: its script from ``/static/``, the model fetched from the hub, textures as ``blob:``
pictures. No worker: models compressed with Draco, meshoptimizer or Basis (whose decoders run
in workers loaded from the internet) are refused at import (classroom_hub/lessons/gltf.py).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import re
from pathlib import Path

log = logging.getLogger(__name__)

VENDOR = Path(__file__).parent / "static" / "vendor"
MODEL_VIEWER = VENDOR / "model-viewer.min.js"
# The pages that draw lesson steps (classroom_hub/web/static/lesson.js) and so may show a model.
VIEWER_PAGES = frozenset({"/join", "/display", "/teacher"})
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


@functools.cache
def viewer_style_sources() -> tuple[str, ...]:
    """``'sha256-…'`` of each inline style block of the installed viewer; none when not installed."""
    try:
        script = MODEL_VIEWER.read_text(encoding="utf-8")
    except OSError as err:
        log.warning("event=vendor_missing file=%s reason=%r hint='make setup installs it'", MODEL_VIEWER, str(err))
        return ()
    blocks = [m.group(1) for m in _STYLE.finditer(script) if "${" not in m.group(1)]
    return tuple(
        f"'sha256-{base64.b64encode(hashlib.sha256(block.encode('utf-8')).digest()).decode()}'"
        for block in dict.fromkeys(blocks)
    )


def style_sources(path: str) -> tuple[str, ...]:
    """The inline styles the page at ``path`` may apply besides its own style sheets."""
    return viewer_style_sources() if path in VIEWER_PAGES else ()

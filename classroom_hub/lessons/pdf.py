"""A lesson's PDF pages as pictures, so that every tablet shows them.

Android's browser has no PDF viewer of its own (it offers a download), and the display and
each tablet would lay a PDF out differently anyway. So the hub renders the pages a lesson
uses to WebP pictures once, when the package is imported, with PDFium (the PDF engine of
Chromium, from the ``pypdfium2`` wheels), and every screen shows the same pictures.

:func:`check_pdf` is the import's check: a damaged file, one that needs a password or one
without the page a step names is a :class:`PdfProblem` saying so. :func:`render_pages`
writes the pictures of a checked PDF. Both block: the hub calls them through an executor.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

# PDFium is not thread-safe: one document open at a time in this process.
_LOCK = threading.Lock()
# Wide enough for a 1080p display and a 10" tablet; a slide's text stays sharp.
PAGE_WIDTH_PX = 1600
PAGE_QUALITY = 82
# A4 portrait at this width is 2263 px high; nothing is rendered larger than this many pixels.
_MAX_PIXELS = PAGE_WIDTH_PX * 4000
PAGE_FORMAT = "webp"
COUNT_FILE = "pages.json"

_WHY = {
    pdfium_c.FPDF_ERR_PASSWORD: "is protected by a password; save it again without one (File > Export as PDF)",
    pdfium_c.FPDF_ERR_SECURITY: "uses an encryption PDFium does not support; save it again without a password",
    pdfium_c.FPDF_ERR_FORMAT: "is not a PDF file, or it is damaged",
    pdfium_c.FPDF_ERR_FILE: "cannot be read",
}


class PdfProblem(ValueError):
    """What is wrong with a PDF, in words for the teacher who imported it."""


def _open(source: Path | bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(source if isinstance(source, bytes) else str(source))
    except pdfium.PdfiumError as err:
        code = getattr(err, "err_code", None)
        raise PdfProblem(_WHY.get(code, f"cannot be opened: {err}")) from err


def check_pdf(source: Path | bytes) -> int:
    """The number of pages of a PDF any tablet can be shown; :class:`PdfProblem` when none can."""
    with _LOCK:
        document = _open(source)
        try:
            count = len(document)
        finally:
            document.close()
    if count < 1:
        raise PdfProblem("has no pages")
    return count


def page_name(page: int) -> str:
    return f"{page}.{PAGE_FORMAT}"


def render_pages(source: Path, folder: Path, pages: Iterable[int] | None = None) -> int:
    """Render ``pages`` (1-based; all when None) of ``source`` into ``folder``, with the page count.

    Each picture is written to a temporary name, synced and renamed, and ``pages.json`` last:
    a folder with ``pages.json`` holds every page it was asked for. Returns the page count.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with _LOCK:
        document = _open(source)
        try:
            count = len(document)
            wanted = sorted(set(range(1, count + 1) if pages is None else pages))
            for number in wanted:
                if not 1 <= number <= count:
                    raise PdfProblem(f"has {count} pages, no page {number}")
                target = folder / page_name(number)
                if target.exists():
                    continue
                page = document[number - 1]
                try:
                    width, height = page.get_size()
                    scale = PAGE_WIDTH_PX / max(width, 1.0)
                    if width * height * scale * scale > _MAX_PIXELS:
                        scale = (_MAX_PIXELS / max(width * height, 1.0)) ** 0.5
                    image = page.render(scale=scale, may_draw_forms=True).to_pil()
                finally:
                    page.close()
                partial = target.with_name(target.name + ".new")
                with open(partial, "wb") as out:
                    image.convert("RGB").save(out, format="WEBP", quality=PAGE_QUALITY, method=4)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(partial, target)
        finally:
            document.close()
    _write_count(folder, count)
    return count


def rendered_count(folder: Path) -> int | None:
    """The page count of a finished rendering in ``folder``; None when there is none (yet)."""
    try:
        count = json.loads((folder / COUNT_FILE).read_text("utf-8"))["count"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return count if isinstance(count, int) and count > 0 else None


def _write_count(folder: Path, count: int) -> None:
    partial = folder / (COUNT_FILE + ".new")
    with open(partial, "w", encoding="utf-8") as out:
        json.dump({"count": count, "width_px": PAGE_WIDTH_PX, "format": PAGE_FORMAT}, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, folder / COUNT_FILE)

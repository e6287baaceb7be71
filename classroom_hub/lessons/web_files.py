"""The files of a lesson package, served so that none of them can act as the hub.

Lesson packages come from many authors and may hold any file. Anything a browser could open
as a page (HTML, SVG, XML with a style sheet, and every type not listed below) runs in a
sandbox set by ``Content-Security-Policy: sandbox``: a unique origin of its own, so its
scripts (HTML slides may run some) can never read the hub's cookies, pages or APIs, even
when a teacher opens the file straight from the address bar. Only plain media that no
browser runs script in are served as they are: pictures (not SVG), sound, video, fonts,
captions, 3D models (glTF, which the model viewer fetches as data) and PDF (Chromium's viewer
runs in its own extension origin, and a PDF inside a sandbox is not shown at all). Every
file has its type from this table, never from sniffing its bytes (``nosniff``); an unknown
type is sent as a download.

Who may read them: the running lesson's files at ``/lesson/<hash>.<key>/<path>`` (the key
comes with the lesson's state: :mod:`classroom_hub.lessons.file_keys`); any stored lesson's
at ``/lesson/<hash>/<path>`` with a teacher's login.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import PurePosixPath

from aiohttp import web

from classroom_hub.lessons.errors import LessonError
from classroom_hub.lessons.keys import LESSONS
from classroom_hub.web.access import ANYONE, allow
from classroom_hub.web.routes import require

log = logging.getLogger(__name__)

_REF = re.compile(r"^(?P<hash>[0-9a-f]{64})(?:\.(?P<key>[A-Za-z0-9_-]{1,64}))?$")

# Served as they are: the browser shows them itself and runs no script of theirs.
MEDIA_TYPES: dict[str, str] = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".avif": "image/avif", ".bmp": "image/bmp", ".ico": "image/x-icon",
    ".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm", ".ogv": "video/ogg", ".mov": "video/quicktime",
    ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".aac": "audio/aac", ".oga": "audio/ogg", ".ogg": "audio/ogg",
    ".opus": "audio/ogg", ".wav": "audio/wav", ".flac": "audio/flac", ".weba": "audio/webm",
    ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf",
    ".vtt": "text/vtt; charset=utf-8", ".pdf": "application/pdf",
    ".glb": "model/gltf-binary", ".gltf": "model/gltf+json",
}  # fmt: skip
# Served with their own type, always in a sandbox (used by HTML slides, or shown as text).
SANDBOXED_TYPES: dict[str, str] = {
    ".html": "text/html", ".htm": "text/html", ".xhtml": "application/xhtml+xml",
    ".svg": "image/svg+xml", ".xml": "application/xml", ".xsl": "application/xml",
    ".xslt": "application/xml", ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".json": "application/json", ".txt": "text/plain; charset=utf-8", ".md": "text/markdown; charset=utf-8",
    ".csv": "text/csv; charset=utf-8", ".wasm": "application/wasm",
}  # fmt: skip
# An HTML slide may run its own script, in its own origin, with no network and no forms.
SCRIPTED_POLICY = "sandbox allow-scripts; connect-src 'none'; form-action 'none'"
SANDBOX_POLICY = "sandbox; connect-src 'none'; form-action 'none'"
_SCRIPTED = {".html", ".htm", ".xhtml"}
_IMMUTABLE = "private, max-age=31536000, immutable"  # the address holds the content hash


def file_headers(name: str) -> dict[str, str]:
    """Content type and policy of a lesson file, from its name alone."""
    suffix = PurePosixPath(name).suffix.lower()
    headers = {"Cache-Control": _IMMUTABLE, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
    if suffix in MEDIA_TYPES:
        headers["Content-Type"] = MEDIA_TYPES[suffix]
        return headers
    headers["Content-Security-Policy"] = SCRIPTED_POLICY if suffix in _SCRIPTED else SANDBOX_POLICY
    if suffix in SANDBOXED_TYPES:
        headers["Content-Type"] = SANDBOXED_TYPES[suffix]
    else:
        headers["Content-Type"] = "application/octet-stream"
        headers["Content-Disposition"] = "attachment"
    return headers


@allow(ANYONE, narrowed=True)
async def asset(request: web.Request) -> web.StreamResponse:
    """``GET /lesson/{ref}/{path}``: a file of a stored lesson (``lesson.json`` never)."""
    found = _REF.match(request.match_info["ref"])
    if found is None:
        raise web.HTTPNotFound()
    lesson_hash, key, name = found["hash"], found["key"], request.match_info["path"]
    classroom = request.config_dict[LESSONS]
    try:
        if key is not None:
            run = classroom.run
            running = run is not None and not run.ended and run.lesson.record.hash == lesson_hash
            if run is None or not running or not classroom.file_keys.check(lesson_hash, key):
                log.info("event=lesson_file_refused lesson=%s peer=%s running=%s", lesson_hash[:12], request.remote,
                         running)  # fmt: skip
                raise web.HTTPForbidden(text="not a file of the lesson running now")
            path = run.lesson.asset_path(name)
        else:
            await require(request, "teacher")
            lesson = await asyncio.get_running_loop().run_in_executor(None, classroom.library.open, lesson_hash)
            path = lesson.asset_path(name)
    except LessonError as err:
        raise web.HTTPNotFound(text="not a file of this lesson") from err
    return web.FileResponse(path, headers=file_headers(name))

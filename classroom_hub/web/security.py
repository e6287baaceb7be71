"""What every request to the hub goes through before its handler: one middleware and one
response hook, applied to the whole application (every package's routes included).

* **Same origin.** A request that changes state (POST, PUT, PATCH, DELETE) and every
  WebSocket upgrade must come from the hub's own origin: ``Origin`` (or, when a browser sends
  none, ``Sec-Fetch-Site``) is compared with the origin the request reached (its scheme and
  ``Host``) and with ``http.public_url``. A page on another port of the same host is another
  origin and is refused. A request with neither header (nor a foreign ``Referer``) is not from
  a browser that the hub supports (every browser since 2020-2023 sends ``Sec-Fetch-Site`` and
  ``Origin`` on such requests, and a page cannot remove them): tablet agents, the CLI and
  test clients are accepted.
* **Who may.** The route's declaration (``classroom_hub/web/access.py``) is enforced before
  any body is read: 401/403 for APIs, the login form for pages.
* **Bodies.** Over the route's limit: 413 before reading (Content-Length) or as soon as the
  read passes it (chunked). A JSON API refuses the body types a foreign page can send without
  asking (``text/plain``, forms) with 415; a body that is not JSON, or nested deeper than
  ``MAX_DEPTH``, gets 400 ``{"error": "malformed_request", "detail": ...}`` on every route.
* **Errors.** Every error answer of an API has one JSON body, ``{"error": code, "detail": text}``
  (docs/protocol.md, "Error answers"): a :class:`~classroom_hub.errors.HubError` escaping a
  handler is answered with its ``code``, its ``detail`` and its ``http_status`` (a 5xx is logged
  with its traceback); handlers that refuse a request themselves use :func:`problem`.
* **Headers.** Every response gets ``nosniff`` and a ``Referrer-Policy``; unless its handler
  set a Content-Security-Policy of its own (the lesson files' sandbox), a document gets the
  hub's policy (scripts only from ``/static/``, none inline, no framing) and
  ``X-Frame-Options: DENY``, anything else may be framed by the hub's own pages only; HSTS
  when served over TLS and ``http.hsts_s`` is set.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from aiohttp import hdrs, web
from yarl import URL

from classroom_hub.errors import HubError
from classroom_hub.keys import REJECTIONS, SETTINGS
from classroom_hub.web import connections
from classroom_hub.web.access import PASSWORD_PAGE, Access, access_of
from classroom_hub.web.session import as_anonymous, current_user

log = logging.getLogger(__name__)

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Body types a page of any origin may send without a CORS preflight: never JSON.
SAFELISTED_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
MAX_DEPTH = 32
PRE_READ_MAX = 1024 * 1024  # larger bodies are uploads: their handler streams them
BODY_TIMEOUT_S = 10.0
# A document of the hub runs only the hub's own scripts: from /static/ (not, say, a file of a
# lesson package, which lives on the same origin), none inline; nothing may frame it.
PAGE_POLICY = (
    "default-src 'self'; script-src {scripts}; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; frame-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# What a browser may render as a document (and so run script in); anything else (JSON, CSS,
# images, a lesson's PDF shown in the teacher's page) may be framed by the hub's own pages only.
def is_document(content_type: str) -> bool:
    kind = content_type.lower()
    return kind in ("text/html", "text/xsl", "text/xml") or kind.endswith(("/xml", "+xml"))


OTHER_POLICY = "frame-ancestors 'self'"
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def setup_security(app: web.Application) -> None:
    app.middlewares.append(guard)
    app.on_response_prepare.append(add_headers)


def problem(
    status: int, error: str, detail: str, headers: dict[str, str] | None = None, extra: Mapping[str, Any] | None = None
) -> web.HTTPException:
    """An HTTP error whose body says what was wrong, as JSON: ``{"error": code, "detail": text}``
    (plus ``extra`` fields a page needs, e.g. the booking a new one conflicts with)."""
    return _answer(status, {"error": error, "detail": detail, **(extra or {})}, headers)


def problem_of(err: HubError) -> web.HTTPException:
    """The answer to a hub error: its status, code and detail."""
    return _answer(err.http_status, err.body())


def _answer(status: int, body: Mapping[str, Any], headers: dict[str, str] | None = None) -> web.HTTPException:
    text = json.dumps(body, ensure_ascii=False)
    if status == 413:
        return web.HTTPRequestEntityTooLarge(0, 0, text=text, content_type="application/json", headers=headers)
    return _ERRORS.get(status, web.HTTPInternalServerError)(text=text, content_type="application/json",
                                                            headers=headers)  # fmt: skip


_ERRORS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden, 404: web.HTTPNotFound,
    408: web.HTTPRequestTimeout, 409: web.HTTPConflict, 410: web.HTTPGone, 415: web.HTTPUnsupportedMediaType,
    429: web.HTTPTooManyRequests, 500: web.HTTPInternalServerError, 502: web.HTTPBadGateway,
    503: web.HTTPServiceUnavailable, 504: web.HTTPGatewayTimeout,
}  # fmt: skip


@web.middleware
async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
    connections.busy(request)
    try:
        return await _guarded(request, handler)
    finally:
        connections.idle(request)


async def _guarded(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.match_info.http_exception is not None:  # 404 / 405: nothing to guard
        response: web.StreamResponse = await handler(request)
        return response
    upgrade = request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"
    if (request.method in STATE_CHANGING or upgrade) and not same_origin(request):
        log.warning("event=cross_origin_refused method=%s path=%s origin=%r peer=%s", request.method,
                    request.path, request.headers.get(hdrs.ORIGIN), request.remote)  # fmt: skip
        raise problem(403, "cross_origin", "this request must come from the hub's own pages")
    access = access_of(request.match_info.route)
    if access is None:
        log.error("event=route_undeclared method=%s path=%s", request.method, request.path)
        raise problem(403, "undeclared_route", "this route declares no roles: refused")
    await _check_role(request, access)
    if request.method in STATE_CHANGING:
        request = await _checked_body(request, access)
    try:
        response = await handler(request)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise _malformed(request, f"body is not JSON: {type(err).__name__}") from None
    except HubError as err:
        if err.http_status >= 500:
            log.warning("event=request_failed method=%s path=%s code=%s status=%d detail=%r", request.method,
                        request.path, err.code, err.http_status, err.detail, exc_info=err)  # fmt: skip
        raise problem_of(err) from None
    return response


async def _check_role(request: web.Request, access: Access) -> None:
    if access.open:
        if access.narrowed and not access.new_password:
            # An open route whose handler decides by the session (the teacher's lesson socket...):
            # a user who must first replace a one-time password is nobody there.
            user = await current_user(request)
            if user is not None and user.must_change:
                as_anonymous(request)
        return
    user = await current_user(request)
    if user is not None and user.must_change and not access.new_password:
        # Signed in with a one-time password the admin handed out: their own password first.
        if access.page:
            raise web.HTTPFound(f"{PASSWORD_PAGE}?next={quote(request.path, safe='/')}")
        raise problem(403, "password_change_required", "choose your own password first")
    if access.admits(user.role if user else None):
        return
    if access.page:
        raise web.HTTPFound(f"/login?next={quote(request.path, safe='/')}" + ("&error=forbidden" if user else ""))
    if user is None:
        raise problem(401, "login_required", "log in first")
    raise problem(403, "forbidden", f"a {user.role} may not use this")


# --- same origin -------------------------------------------------------------------------


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host or parsed.port is None:
        return None
    return parsed.scheme, parsed.host.lower().rstrip("."), parsed.port


def own_origins(request: web.Request) -> set[tuple[str, str, int]]:
    """The origins of the hub's own pages: the one this request reached, and the configured one."""
    found = {_origin(f"{request.scheme}://{request.host}")}
    public = request.config_dict[SETTINGS].http.public_url
    if public:
        found.add(_origin(public))
    return {o for o in found if o is not None}


def same_origin(request: web.Request) -> bool:
    origin = request.headers.get(hdrs.ORIGIN)
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site.lower() not in ("same-origin", "none"):
        return False
    if origin is not None:
        return _origin(origin) in own_origins(request)  # "null" (sandboxed frames...) never matches
    if fetch_site is not None:
        return True
    referer = request.headers.get(hdrs.REFERER)
    return referer is None or _origin(referer) in own_origins(request)


# --- bodies ------------------------------------------------------------------------------


def _mime(request: web.Request) -> str | None:
    raw = request.headers.get(hdrs.CONTENT_TYPE)
    return (raw.split(";", 1)[0].strip().lower() or None) if raw is not None else None


async def _checked_body(request: web.Request, access: Access) -> web.Request:
    length = request.content_length
    if length is not None and length > access.body:
        raise _too_large(access)
    mime = _mime(request)
    has_body = request.body_exists
    if access.form:
        if has_body and mime not in FORM_TYPES:
            raise problem(415, "unsupported_media_type", "send an HTML form")
    elif (mime in SAFELISTED_TYPES) or (has_body and mime is None):
        raise problem(415, "unsupported_media_type", "send JSON with Content-Type: application/json")
    if not has_body or access.body > PRE_READ_MAX:
        return request
    # The handler gets this clone, its body read and kept: ``await request.json()`` (or
    # ``read()``, ``post()``) returns it; ``can_read_body`` is False, ``body_exists`` True.
    bounded = request.clone(client_max_size=access.body)
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            raw = await bounded.read()
    except web.HTTPRequestEntityTooLarge:
        raise _too_large(access) from None
    except TimeoutError:
        raise problem(408, "body_timeout", f"the body did not arrive within {BODY_TIMEOUT_S:g} s") from None
    if not access.form and raw:
        _check_json(request, raw)
    return bounded


def _too_large(access: Access) -> web.HTTPException:
    return problem(413, "body_too_large", f"this route takes at most {access.body} bytes")


def _check_json(request: web.Request, raw: bytes) -> None:
    try:
        value = json.loads(raw)
    except RecursionError:
        raise _malformed(request, f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise _malformed(request, f"body is not JSON: {err}") from None
    if depth_of(value) > MAX_DEPTH:
        raise _malformed(request, f"JSON nested deeper than {MAX_DEPTH} levels")


def depth_of(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar: 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level + 1)
            stack.extend((child, level + 1) for child in item if isinstance(child, dict | list))
    return deepest


def _malformed(request: web.Request, detail: str) -> web.HTTPException:
    request.config_dict[REJECTIONS].add(f"http {request.method} {request.path}", "malformed_request", detail)
    return problem(400, "malformed_request", detail)


# --- headers -----------------------------------------------------------------------------


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on the
    # hub's own form posts, which the origin check must refuse.
    headers.setdefault("Referrer-Policy", "same-origin")
    if "Content-Security-Policy" not in headers:  # a handler's own policy (a lesson file's sandbox) stays
        if is_document(response.content_type or ""):
            headers["Content-Security-Policy"] = page_policy(request)
            headers.setdefault("X-Frame-Options", "DENY")
        else:
            headers["Content-Security-Policy"] = OTHER_POLICY
            headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    hsts = request.config_dict[SETTINGS].http.hsts_s
    if hsts and request.secure:
        headers.setdefault("Strict-Transport-Security", f"max-age={hsts}")


def page_policy(request: web.Request) -> str:
    """PAGE_POLICY with its script sources: /static/ of the origin the page was reached on (and of
    ``public_url``); plain 'self' when the Host header is not a host name."""
    origins = [f"{request.scheme}://{request.host}"] if _HOST.match(request.host or "") else []
    public = request.config_dict[SETTINGS].http.public_url
    if public:
        origins.append(public.rstrip("/"))
    scripts = " ".join(f"{origin}/static/" for origin in dict.fromkeys(origins)) or "'self'"
    return PAGE_POLICY.format(scripts=scripts)

"""Who may call each route, declared on its handler, and how big a body it takes.

Every handler the hub routes to carries an :class:`Access` (``@allow(...)``): the roles that
may use it (an admin may use every route), whether it is a page (a refused visitor is sent to
the login form rather than answered 401/403), the largest body it reads and whether that body
is an HTML form or JSON. The web middleware (``classroom_hub/web/security.py``) enforces the
declaration before the handler runs, so a handler that forgets its own check is still
guarded, and no body is read for a visitor the route refuses. A route without a declaration
is refused (403) and fails the role x route test (tests/classroom_hub/web/test_route_matrix.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

ANYONE = "anyone"  # no login: tablets, the display, headsets, the login form
SIGNED_IN = "signed_in"  # any account
KiB = 1024
MiB = 1024 * KiB
JSON_BODY = 64 * KiB  # the default for a JSON API
SMALL_FORM = 4 * KiB  # login, logout
# Where a user signed in with a one-time password is sent until they choose their own (the
# admin package serves it, classroom_hub/admin/); only routes declared ``new_password=True`` let them through.
PASSWORD_PAGE = "/password"

H = TypeVar("H", bound=Callable[..., Awaitable[web.StreamResponse]])


@dataclass(frozen=True, slots=True)
class Access:
    roles: frozenset[str]
    page: bool = False
    body: int = JSON_BODY
    form: bool = False
    narrowed: bool = False  # the handler refuses some of these visitors itself (see allow())
    new_password: bool = False  # open to a user who must first replace a one-time password

    @property
    def open(self) -> bool:
        return ANYONE in self.roles

    def admits(self, role: str | None) -> bool:
        """Whether a visitor with this role (None: not logged in) may use the route."""
        if self.open:
            return True
        if role is None:
            return False
        return role == "admin" or SIGNED_IN in self.roles or role in self.roles


def allow(
    *roles: str,
    page: bool = False,
    body: int = JSON_BODY,
    form: bool = False,
    narrowed: bool = False,
    new_password: bool = False,
) -> Callable[[H], H]:
    """Declare who may use a handler: ``@allow("technician")``, ``@allow(ANYONE)``...

    ``body`` is the largest request body in bytes (413 beyond it, before it is read);
    ``form``: the body is an HTML form, not JSON; ``narrowed``: what the request carries
    decides further (the running lesson's files, a calendar key, ``/ws/lesson?role=teacher``),
    so the handler may still answer 401/403 to a visitor the roles admit; ``new_password``: a user
    signed in with a one-time password may use it (every other route sends them to PASSWORD_PAGE)."""
    if not roles:
        raise ValueError("name the roles that may use the route, ANYONE or SIGNED_IN")
    access = Access(frozenset(roles), page=page, body=body, form=form, narrowed=narrowed, new_password=new_password)

    def mark(handler: H) -> H:
        handler.__dict__["hub_access"] = access
        return handler

    return mark


STATIC_ACCESS = Access(frozenset({ANYONE}), body=0)


def access_of(route: web.AbstractRoute | None) -> Access | None:
    """The declaration of the route a request matched; None when it has none."""
    if route is None:
        return None
    if isinstance(route.resource, web.StaticResource):
        return STATIC_ACCESS
    handler: Any = route.handler
    found = getattr(handler, "hub_access", None)
    return found if isinstance(found, Access) else None

"""Who is asking: the session cookie and the signed-in user of a request, looked up once.

Below both the routes (login, logout, ``require``) and the security middleware (the role
check of every handler), so neither imports the other for it.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from classroom_hub.auth import User
from classroom_hub.keys import ACCOUNTS

SESSION_COOKIE = "hub_session"
# The signed-in user (or None), looked up once per request.
_USER: web.RequestKey[tuple[User | None]] = web.RequestKey("user")


async def current_user(request: web.Request) -> User | None:
    if _USER in request:
        return request[_USER][0]
    token = request.cookies.get(SESSION_COOKIE)
    user = None
    if token:
        accounts = request.config_dict[ACCOUNTS]
        user = await asyncio.get_running_loop().run_in_executor(None, accounts.session, token)
    request[_USER] = (user,)
    return user


def as_anonymous(request: web.Request) -> None:
    """From here on, this request has no signed-in user (whatever its cookie says)."""
    request[_USER] = (None,)

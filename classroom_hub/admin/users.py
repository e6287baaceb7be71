"""Accounts on the admin page: list, add, reset a password, disable and enable; and the page
where anyone signed in with a one-time password chooses their own (``/password``).

A new or reset account gets a one-time password made by classroom_hub/auth.py: this answer is
the only place it ever appears (it is stored hashed), so the admin page shows it once. Its
owner can do nothing but choose their own password until they have (the web guard).

An admin cannot disable their own account: the school could be left without an admin who can
log in (``classroom-hub user passwd`` on the box would be the only way back).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from classroom_hub.auth import MIN_PASSWORD, ROLES, USERNAME_RE, Account, Accounts, Role, one_time_password
from classroom_hub.errors import AuthError
from classroom_hub.keys import ACCOUNTS
from classroom_hub.problems import describe
from classroom_hub.web.access import PASSWORD_PAGE, SIGNED_IN, SMALL_FORM, allow
from classroom_hub.web.routes import STATIC, require, safe_next
from classroom_hub.web.security import problem
from classroom_hub.web.session import SESSION_COOKIE

log = logging.getLogger(__name__)

ADMIN = ("admin",)
# What Accounts.change_password says, as codes the page has words for.
_PASSWORD_REFUSALS = {
    "bad_credentials": "bad_credentials",
    "the new password must differ from the old one": "same_password",
    f"password must have at least {MIN_PASSWORD} characters": "short",
}


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/admin/users", users)
    app.router.add_post("/api/admin/users", add_user)
    app.router.add_post("/api/admin/users/{username}/reset", reset_password)
    app.router.add_post("/api/admin/users/{username}/disabled", set_disabled)
    app.router.add_get(PASSWORD_PAGE, password_page)
    app.router.add_post("/api/password", change_password)


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME_RE.pattern)
    display_name: str = Field(min_length=1, max_length=80)
    role: Role


class Disabling(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disabled: bool


class NewPassword(BaseModel):
    model_config = ConfigDict(extra="forbid")

    old: str = Field(max_length=1024)
    new: str = Field(min_length=MIN_PASSWORD, max_length=1024)


async def _body(request: web.Request, model: type[BaseModel]) -> Any:
    try:
        return model.model_validate(await request.json())
    except ValidationError as err:
        raise problem(400, "invalid", describe(err)) from None


async def _in_thread(fn: Any, *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


def _account(account: Account) -> dict[str, Any]:
    return {"username": account.username, "role": account.role, "display_name": account.display_name,
            "created_at": account.created_at, "last_login": account.last_login,
            "disabled": account.disabled, "must_change": account.must_change}  # fmt: skip


def _known(accounts: list[Account], username: str) -> Account:
    for account in accounts:
        if account.username == username:
            return account
    raise problem(404, "unknown_user", f"no account {username!r}")


# --- the admin's routes ------------------------------------------------------------------------


@allow(*ADMIN)
async def users(request: web.Request) -> web.Response:
    await require(request, *ADMIN)
    accounts: list[Account] = await _in_thread(request.config_dict[ACCOUNTS].accounts)
    return web.json_response({"users": [_account(a) for a in accounts], "roles": list(ROLES)})


@allow(*ADMIN)
async def add_user(request: web.Request) -> web.Response:
    admin = await require(request, *ADMIN)
    body: NewUser = await _body(request, NewUser)
    accounts: Accounts = request.config_dict[ACCOUNTS]
    password = await _in_thread(_make, accounts, body)
    log.info("event=account_added user=%s role=%s by=%s", body.username, body.role, admin.username)
    return web.json_response({"username": body.username, "password": password}, status=201)


def _make(accounts: Accounts, body: NewUser) -> str:
    if any(a.username == body.username for a in accounts.accounts()):
        raise problem(409, "exists", f"an account {body.username!r} already exists")
    password = one_time_password()
    accounts.add(body.username, password, body.role, body.display_name.strip(), one_time=True)
    return password


@allow(*ADMIN)
async def reset_password(request: web.Request) -> web.Response:
    admin = await require(request, *ADMIN)
    username = request.match_info["username"]
    accounts: Accounts = request.config_dict[ACCOUNTS]
    _known(await _in_thread(accounts.accounts), username)
    password = await _in_thread(accounts.reset_password, username)
    log.info("event=account_password_reset user=%s by=%s", username, admin.username)
    return web.json_response({"username": username, "password": password})


@allow(*ADMIN)
async def set_disabled(request: web.Request) -> web.Response:
    admin = await require(request, *ADMIN)
    username = request.match_info["username"]
    body: Disabling = await _body(request, Disabling)
    accounts: Accounts = request.config_dict[ACCOUNTS]
    _known(await _in_thread(accounts.accounts), username)
    if body.disabled and username == admin.username:
        # Any other admin who could enable it again is signed in as themselves: this is the one
        # way an admin page can leave the school without an admin.
        raise problem(409, "own_account", "you cannot disable your own account")
    await _in_thread(accounts.set_disabled, username, body.disabled)
    log.info("event=account_%s user=%s by=%s", "disabled" if body.disabled else "enabled", username, admin.username)
    return web.json_response({"username": username, "disabled": body.disabled})


# --- anyone's own password ---------------------------------------------------------------------


@allow(SIGNED_IN, page=True, new_password=True)
async def password_page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "admin_password.html")


@allow(SIGNED_IN, body=SMALL_FORM, new_password=True)
async def change_password(request: web.Request) -> web.Response:
    user = await require(request)
    body: NewPassword = await _body(request, NewPassword)
    token = request.cookies.get(SESSION_COOKIE, "")
    try:
        await _in_thread(request.config_dict[ACCOUNTS].change_password, token, body.old, body.new)
    except AuthError as err:
        raise problem(400, _PASSWORD_REFUSALS.get(str(err), "refused"), str(err)) from None
    log.info("event=password_changed user=%s", user.username)
    return web.json_response({"changed": True, "next": safe_next(request.query.get("next", "/"))})

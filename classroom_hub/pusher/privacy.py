"""What leaves the hub about a person: keyed pseudonyms for actors, and masks for logs.

See docs/privacy.md. A destination outside the province's control (``pseudonymise = true``)
gets every agent of a statement replaced by an account whose name is
``HMAC-SHA256(pseudonym_key, agent key)``: the same student has the same pseudonym in every
statement and from every hub that shares the key, so learning analytics still work, but
neither the name nor the school's id of the student leaves the province. Without the key
the pseudonym cannot be linked back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

_CITIZEN_ID = re.compile(r"(?<!\d)(\d{3})\d{7}(\d{2})(?!\d)")
_EMAIL = re.compile(r"(mailto:)?[\w.+-]+@[\w-]+(\.[\w-]+)+")
_AGENT_FIELDS = ("actor", "object", "authority")
_CONTEXT_AGENTS = ("instructor", "team")


def mask_personal(text: str) -> str:
    """``text`` fit for a log line or an error shown on a page: citizen IDs and e-mail addresses masked."""
    text = _CITIZEN_ID.sub(lambda m: f"{m[1]}*******{m[2]}", text)
    return _EMAIL.sub(lambda m: (m[1] or "") + "***@***", text)


def agent_key(agent: dict[str, Any]) -> str | None:
    """The agent's inverse functional identifier as one string (the same rule as ``xapi_agent_key`` centrally)."""
    if "mbox" in agent:
        return str(agent["mbox"])
    if "mbox_sha1sum" in agent:
        return f"sha1:{agent['mbox_sha1sum']}"
    if "openid" in agent:
        return str(agent["openid"])
    account = agent.get("account")
    if isinstance(account, dict):
        return f"account:{account.get('homePage')}|{account.get('name')}"
    return None


class Pseudonymiser:
    """Replaces every agent in a statement by a keyed pseudonym; the statement id and the rest stay."""

    def __init__(self, key: bytes, home_page: str) -> None:
        if len(key) < 16:
            raise ValueError("the pseudonym key must be at least 16 bytes")
        self._key = key
        self.home_page = home_page

    def pseudonym(self, key: str) -> str:
        return hmac.new(self._key, key.encode(), hashlib.sha256).hexdigest()[:32]

    def agent(self, agent: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"objectType": agent.get("objectType", "Agent")}
        key = agent_key(agent)
        if key is not None:
            out["account"] = {"homePage": self.home_page, "name": self.pseudonym(key)}
        members = agent.get("member")
        if isinstance(members, list):
            out["member"] = [self.agent(m) for m in members if isinstance(m, dict)]
        return out  # the display name is dropped on purpose

    def statement(self, statement: dict[str, Any]) -> dict[str, Any]:
        out = dict(statement)
        for field in _AGENT_FIELDS:
            value = out.get(field)
            if isinstance(value, dict):
                kind = value.get("objectType")
                # An actor or authority without objectType is an Agent; an object without one is an Activity.
                if kind in ("Agent", "Group") or (kind is None and field != "object"):
                    out[field] = self.agent(value)
                elif value.get("objectType") == "SubStatement":
                    out[field] = self.statement(value)
        context = out.get("context")
        if isinstance(context, dict):
            context = dict(context)
            for field in _CONTEXT_AGENTS:
                if isinstance(context.get(field), dict):
                    context[field] = self.agent(context[field])
            out["context"] = context
        return out

    def body(self, body: str) -> str:
        """A stored statement (JSON text) with its agents pseudonymised."""
        return json.dumps(self.statement(json.loads(body)), ensure_ascii=False, separators=(",", ":"))

"""Any xAPI 1.0.3 Learning Record Store as a destination (tested against Ralph).

``POST <url>/statements`` with a JSON array of statements (xAPI 1.0.3, Communication,
2.1.2 POST Statements), header ``X-Experience-API-Version: 1.0.3``, HTTP basic or bearer
authentication, TLS certificates checked unless the room file says otherwise.

How answers are read (https://github.com/adlnet/xAPI-Spec/blob/1.0.3/xAPI-Communication.md):

| answer | meaning | the courier |
|---|---|---|
| 200 (ids) / 204 | stored / all were there already | delivered |
| 409 for one statement | a statement with this id is already stored | delivered (counted as already there) |
| 409 for several | one of them clashes, so the LRS stored none | split the batch |
| 400, 413, 422 | something in the batch is invalid (or too big) | split; a lone one is quarantined |
| 500 | maybe the batch, maybe the server | split; a lone one is quarantined only if others got through |
| 401, 403 | our credentials | wait and retry (fix the room file) |
| 429, 502, 503, 504, no answer | the LRS is away | wait and retry |
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Sequence
from typing import Any

import aiohttp

from classroom_hub.pusher.destination import Delivery, Destination, Row
from classroom_hub.pusher.errors import Rejected, Unreachable
from classroom_hub.pusher.privacy import mask_personal

XAPI_VERSION = "1.0.3"
_BAD_BATCH = {400, 413, 422}


def lrs_reason(status: int, text: str) -> str:
    """The LRS's answer, shortened and without the statement content some LRSs echo back."""
    detail: Any = text
    try:
        parsed = json.loads(text)
        detail = parsed.get("detail", parsed) if isinstance(parsed, dict) else parsed
    except ValueError:
        pass
    if isinstance(detail, list):  # FastAPI/pydantic (Ralph): keep where and what, never the input
        parts = []
        for item in detail[:5]:
            if isinstance(item, dict):
                where = ".".join(str(p) for p in item.get("loc", ())[2:]) or "statement"
                parts.append(f"{where}: {item.get('msg', '')}")
        detail = "; ".join(parts) or str(detail)
    return f"LRS answered {status}: {mask_personal(str(detail))[:300]}"


class XapiDestination(Destination):
    kind = "xapi"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert self.options.url is not None
        self.endpoint = self.options.url.rstrip("/") + "/statements"
        self._session: aiohttp.ClientSession | None = None
        headers = {"X-Experience-API-Version": XAPI_VERSION, "Content-Type": "application/json"}
        options = self.options
        if options.token is not None:
            headers["Authorization"] = f"Bearer {options.token.get_secret_value()}"
        elif options.username is not None and options.password is not None:
            pair = f"{options.username}:{options.password.get_secret_value()}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")  # RFC 7617
        self._headers = headers

    def describe(self) -> str:
        return f"xapi {self.endpoint}"

    def _ssl(self) -> ssl.SSLContext | bool:
        if not self.options.verify_tls:
            return False
        if self.options.ca_file is not None:
            return ssl.create_default_context(cafile=str(self.options.ca_file))
        return True

    async def open(self) -> None:
        await self.close()
        try:
            ssl_option = self._ssl()
        except (OSError, ssl.SSLError) as err:
            raise Unreachable(f"cannot read the CA file {self.options.ca_file}: {err}") from err
        self._session = aiohttp.ClientSession(
            headers=self._headers,
            timeout=aiohttp.ClientTimeout(total=self.options.timeout_s),
            connector=aiohttp.TCPConnector(ssl=ssl_option, limit=4),
        )

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def _post(self, body: bytes) -> tuple[int, str]:
        assert self._session is not None
        for attempt in (1, 2):
            try:
                async with self._session.post(self.endpoint, data=body) as response:
                    return response.status, await response.text(errors="replace")
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as err:
                # A kept-alive connection the server closed meanwhile (some close after a 500):
                # once more on a fresh one. Statements carry their ids, so a repeat is harmless.
                if attempt == 2:
                    raise Unreachable(f"{self.endpoint}: {type(err).__name__}: {err}") from err
            except (aiohttp.ClientError, TimeoutError) as err:
                raise Unreachable(f"{self.endpoint}: {type(err).__name__}: {err}") from err
        raise AssertionError("unreachable")

    async def deliver(self, stream: str, rows: Sequence[Row]) -> Delivery:
        if self._session is None:
            raise Unreachable("not open")
        # The store keeps each statement as JSON text: join them, no decoding and encoding again.
        body = ("[" + ",".join(row[3] for row in rows) + "]").encode()
        status, text = await self._post(body)
        if status == 200:
            try:
                stored = json.loads(text)
            except ValueError:
                stored = None
            new = len(stored) if isinstance(stored, list) else len(rows)
            return Delivery(new, len(rows) - new)
        if status == 204 or (status == 409 and len(rows) == 1):
            return Delivery(0, len(rows))
        if status == 409 or status in _BAD_BATCH:
            raise Rejected(lrs_reason(status, text))
        if status == 500:
            raise Rejected(lrs_reason(status, text), suspect=True)
        if status in (401, 403):
            raise Unreachable(lrs_reason(status, text) + " - check the username/password or token in the room file")
        raise Unreachable(lrs_reason(status, text))

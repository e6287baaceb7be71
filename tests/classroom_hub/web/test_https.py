"""The hub over HTTPS with a certificate from ``classroom-hub tls init``, as a room runs it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from classroom_hub.app import ACCOUNTS
from classroom_hub.tls import TlsError, adopt
from config.settings import HubSettings
from tests.classroom_hub.web.test_limits import guarded_hub
from tests.conftest import room_settings


def tls_init(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "room.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n[room]\nschool_code = "S"\nid = "p201"\nname = "P201"\n')
    cli = [sys.executable, "-m", "classroom_hub.cli", "tls", "init", "-c", str(config), *extra]
    return subprocess.run(cli, capture_output=True, text=True, timeout=60)


def test_tls_init_makes_a_room_ca_and_a_server_certificate(tmp_path: Path) -> None:
    made = tls_init(tmp_path, "--name", "hub-p201.local", "--address", "192.168.10.2")
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "data" / "tls"
    assert 'tls_cert = "' in made.stdout and "SHA-256 fingerprint" in made.stdout
    for key in ("room-ca.key", "hub.key"):
        assert stat.S_IMODE(os.stat(folder / key).st_mode) == 0o600
    # A client that trusts the room CA accepts the certificate for the hub's names and addresses.
    client = ssl.create_default_context(cafile=folder / "room-ca.crt")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(folder / "hub.crt", folder / "hub.key")
    for name in ("hub-p201.local", "192.168.10.2", "127.0.0.1", "localhost"):
        _handshake(client, server, name)
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(client, server, "evil.example")
    # Again, with a name its CA was not made for: refused, and the CA is kept.
    ca = (folder / "room-ca.crt").read_bytes()
    again = tls_init(tmp_path, "--name", "www.google.com")
    assert again.returncode == 1 and "may not certify www.google.com" in again.stderr
    assert (folder / "room-ca.crt").read_bytes() == ca
    renewed = tls_init(tmp_path, "--name", "hub-p201.local")  # a new server certificate, the same CA
    assert renewed.returncode == 0 and (folder / "room-ca.crt").read_bytes() == ca


def test_given_files_are_checked(tmp_path: Path) -> None:
    assert tls_init(tmp_path / "a", "--name", "hub.lan").returncode == 0
    made = tmp_path / "a" / "data" / "tls"
    with pytest.raises(TlsError):
        adopt(tmp_path / "b", made / "hub.crt", made / "room-ca.key")  # not the certificate's key
    files = adopt(tmp_path / "b", made / "hub.crt", made / "hub.key")
    assert stat.S_IMODE(os.stat(files.key).st_mode) == 0o600


def _handshake(client: ssl.SSLContext, server: ssl.SSLContext, name: str) -> None:
    """A TLS handshake in memory, the client checking the certificate for ``name``."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c = client.wrap_bio(c_in, c_out, server_hostname=name)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for side in (c, s):
            with contextlib.suppress(ssl.SSLWantReadError):
                side.do_handshake()
        s_in.write(c_out.read())
        c_in.write(s_out.read())
    c.do_handshake()


async def test_the_hub_serves_https_and_sends_plain_http_there(tmp_path: Path, system_mosquitto_url: str) -> None:
    assert tls_init(tmp_path, "--address", "127.0.0.1").returncode == 0
    folder = tmp_path / "data" / "tls"
    http = {"host": "127.0.0.1", "port": 0, "redirect_port": 0, "hsts_s": 86400,
            "tls_cert": str(folder / "hub.crt"), "tls_key": str(folder / "hub.key"),
            "tls_ca": str(folder / "room-ca.crt")}  # fmt: skip
    settings: HubSettings = room_settings(tmp_path, system_mosquitto_url, http=http)
    trusted = ssl.create_default_context(cafile=folder / "room-ca.crt")
    async with guarded_hub(settings) as (app, sites):
        hub = f"https://127.0.0.1:{sites.port}"
        assert sites.redirect_site is not None
        plain = f"http://127.0.0.1:{sites.redirect_site.bound_port}"
        password = "mat-khau-123"
        await asyncio.get_running_loop().run_in_executor(None, app[ACCOUNTS].add, "lan", password, "teacher")
        connector = aiohttp.TCPConnector(ssl=trusted)
        async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
            async with client.get(f"{hub}/healthz") as r:
                assert r.status == 200
                assert r.headers["Strict-Transport-Security"] == "max-age=86400"
            form = {"username": "lan", "password": password, "next": "/teacher"}
            async with client.post(f"{hub}/login", data=form, headers={"Origin": hub}, allow_redirects=False) as r:
                assert r.status == 302 and r.headers["Location"] == "/teacher"
                cookie = r.headers["Set-Cookie"]
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
            async with client.get(f"{hub}/api/me") as r:
                assert (await r.json())["username"] == "lan"
            # The same origin over plain HTTP is another origin.
            async with client.post(f"{hub}/api/lab/estop", headers={"Origin": f"http://127.0.0.1:{sites.port}"}) as r:
                assert r.status == 403
            async with client.post(f"{hub}/api/lab/estop", headers={"Origin": hub}) as r:
                assert r.status == 200
            # Plain HTTP: sent to HTTPS, path and query kept; the room CA to install is there too.
            async with client.get(f"{plain}/teacher?x=1", allow_redirects=False) as r:
                assert (r.status, r.headers["Location"]) == (301, f"{hub}/teacher?x=1")
            async with client.post(f"{plain}/api/lab/estop", allow_redirects=False) as r:
                assert (r.status, r.headers["Location"]) == (308, f"{hub}/api/lab/estop")
            async with client.get(f"{plain}/room-ca.crt") as r:
                assert r.status == 200 and await r.read() == (folder / "room-ca.crt").read_bytes()
            assert client.cookie_jar.filter_cookies(URL(plain)) == {}  # a Secure cookie never goes over HTTP
        # A client that does not trust the room CA is refused: the certificate is really checked.
        async with aiohttp.ClientSession() as stranger:
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await stranger.get(f"{hub}/healthz")

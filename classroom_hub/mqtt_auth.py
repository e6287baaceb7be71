"""Per-device MQTT credentials and topic rights for the room's Mosquitto.

``classroom-hub mqtt-credentials -c room.toml --out DIR`` writes, from the room file:

- ``passwd``: Mosquitto's password file (PBKDF2-SHA512, the ``$7$`` format of
  ``mosquitto_passwd``), one user per device plus the hub;
- ``acl``: each device may publish only its own status, telemetry, event and reply, and
  read only its own commands and the hub's status; the hub may use the room's tree and
  Home Assistant's discovery prefix;
- ``credentials.csv`` (mode 0600): user name and password for each, to load onto the
  devices;
- ``revoked.csv``: the devices taken off with ``--revoke`` (a lost tablet), and when.

Running it again keeps the passwords already handed out, so devices in the field keep
working (a password set in the room file wins), and keeps revoked devices out: a revoked
device has no password line and no topic rights until ``--rotate`` gives it a new password.
``--rotate`` also renews the password of a device still in use, or of the hub.

Each file is replaced whole (written beside it, then renamed) with the owner of the file it
replaces, so a Mosquitto reloading at that moment reads the old one or the new one. Mosquitto
reads them again on SIGHUP (``systemctl reload mosquitto``) and then disconnects a client
whose user is no longer in ``passwd``.

A password alone does not stop a tablet from taking the hub's session (same client id:
the broker drops the older connection). The broker's listeners do that:
config/mosquitto/classroom-hub-access.conf makes every device's client id its user name,
which is why user names must be unique and none may be the hub's client id.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from classroom_hub import spreadsheet
from classroom_hub.errors import HubError
from config.settings import ID_PATTERN, HubSettings

PBKDF2_ITERATIONS = 101  # what mosquitto_passwd writes; the salt and SHA-512 carry the weight
DEVICE_WRITES = ("status", "telemetry", "event", "reply")
CREDENTIALS, PASSWD, ACL, REVOKED = "credentials.csv", "passwd", "acl", "revoked.csv"
# A user name is written into "user:hash" lines and "user NAME" ACL lines: no ':', no spaces,
# no line breaks; and it becomes the device's client id on the broker.
USERNAME_RE = re.compile(ID_PATTERN)


class CredentialsError(HubError):
    """The room file's MQTT accounts cannot be written as asked."""

    code = "credentials_refused"
    http_status = 400


@dataclass(frozen=True, slots=True)
class Account:
    """Someone who connects to the room's broker directly (serial kits and wired displays
    reach it through the hub, so they need none)."""

    username: str
    role: str  # "hub" or the device kind
    device_id: str | None  # None: the hub
    password: str | None  # set in the room file (or the environment)


@dataclass(frozen=True, slots=True)
class Credential:
    username: str
    password: str
    role: str  # "hub" or the device kind


@dataclass(frozen=True, slots=True)
class Revoked:
    username: str
    device_id: str
    revoked_at: str  # ISO 8601, local time


@dataclass(frozen=True, slots=True)
class Written:
    """What one run of the command left in the folder."""

    credentials: list[Credential]
    revoked: list[Revoked]
    rotated: list[str]
    set_in_room_file: list[str]  # of those rotated: the room file (or environment) names the password


def mosquitto_hash(password: str, salt: bytes | None = None) -> str:
    """A password line's hash in Mosquitto 2's ``$7$`` (PBKDF2-SHA512) format."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    return f"$7${PBKDF2_ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def hub_client_id(settings: HubSettings) -> str:
    return settings.mqtt.client_id or f"hub-{settings.room.school_code}-{settings.room.id}"


def hub_username(settings: HubSettings) -> str:
    return settings.mqtt.username or hub_client_id(settings)


def accounts(settings: HubSettings) -> list[Account]:
    """The hub first, then every MQTT device of the room file; refuses names the broker would
    mix up (the same user twice, a device named like the hub's client id)."""
    hub_password = settings.mqtt.password.get_secret_value() if settings.mqtt.password else None
    out = [Account(hub_username(settings), "hub", None, hub_password)]
    for device_id, device in settings.device_list():
        transport = device.transport
        if transport.type != "mqtt":
            continue
        password = transport.password.get_secret_value() if transport.password else None
        out.append(Account(transport.username or device_id, device.kind, device_id, password))
    owners: dict[str, str] = {}
    hub_id = hub_client_id(settings)
    for account in out:
        who = "the hub (mqtt.username)" if account.device_id is None else f"device {account.device_id}"
        if not USERNAME_RE.match(account.username):
            raise CredentialsError(
                f"{who}: MQTT user name {account.username!r} must be letters, digits, '_', '.' or '-' (at most 64)"
            )
        if account.username in owners:
            raise CredentialsError(
                f"{who}: MQTT user name {account.username!r} is already used by {owners[account.username]}"
                " (a device's user name is its client id on the broker: each must be unique)"
            )
        if account.device_id is not None and account.username == hub_id:
            raise CredentialsError(
                f"{who}: MQTT user name {account.username!r} is the hub's client id; the device would take"
                " the hub's session"
            )
        owners[account.username] = who
    return out


def credentials(settings: HubSettings, existing: dict[str, str] | None = None) -> list[Credential]:
    """A password for every account: the room file's, else the one handed out before, else new."""
    existing = existing or {}
    return [
        Credential(a.username, a.password or existing.get(a.username) or _new_password(), a.role)
        for a in accounts(settings)
    ]


def acl(settings: HubSettings, creds: Iterable[Credential]) -> str:
    room = settings.room.id
    base = f"classroom/{room}"
    lines = [f"# Topic rights for room {room} ({settings.room.name}); written by classroom-hub mqtt-credentials", ""]
    by_user = {c.username: c for c in creds}
    for account in accounts(settings):
        if account.username not in by_user:
            continue  # revoked: no rights at all
        lines.append(f"user {account.username}")
        if account.device_id is None:
            lines += [f"topic readwrite {base}/#", "topic readwrite homeassistant/#", ""]
            continue
        own = f"{base}/devices/{account.device_id}"
        lines += [f"topic write {own}/{channel}" for channel in DEVICE_WRITES]
        lines += [f"topic read {own}/cmd", f"topic read {base}/hub/status", ""]
    return "\n".join(lines)


def write_files(
    settings: HubSettings, out_dir: Path, *, revoke: Iterable[str] = (), rotate: Iterable[str] = ()
) -> Written:
    """Write (or rewrite) the folder; ``revoke`` and ``rotate`` name devices by id or user name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    existing = _read_csv(out_dir / CREDENTIALS)
    revoked = {row["username"]: Revoked(row["username"], row["device"], row["revoked_at"])
               for row in _read_csv_rows(out_dir / REVOKED, ("username", "device", "revoked_at"))}  # fmt: skip
    known = accounts(settings)
    to_revoke = [_find(known, name) for name in revoke]
    to_rotate = [_find(known, name) for name in rotate]
    both = {a.username for a in to_revoke} & {a.username for a in to_rotate}
    if both:
        raise CredentialsError(f"{', '.join(sorted(both))}: give either --revoke or --rotate, not both")
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    for account in to_revoke:
        if account.device_id is None:
            raise CredentialsError("the hub's own account cannot be revoked: give it a new password with --rotate")
        revoked[account.username] = Revoked(account.username, account.device_id, now)
    for account in to_rotate:
        revoked.pop(account.username, None)
        existing.pop(account.username, None)  # a new one below, unless the room file sets it
    creds = [c for c in credentials(settings, existing) if c.username not in revoked]
    _replace(out_dir / CREDENTIALS, _csv(["username", "password", "role"], ([c.username, c.password, c.role]
                                                                              for c in creds)))  # fmt: skip
    _replace(out_dir / PASSWD, "".join(f"{c.username}:{mosquitto_hash(c.password)}\n" for c in creds))
    _replace(out_dir / ACL, acl(settings, creds))
    if revoked or (out_dir / REVOKED).exists():
        rows = ([r.username, r.device_id, r.revoked_at] for r in sorted(revoked.values(), key=lambda r: r.username))
        _replace(out_dir / REVOKED, _csv(["username", "device", "revoked_at"], rows))
    return Written(
        creds,
        sorted(revoked.values(), key=lambda r: r.username),
        [a.username for a in to_rotate],
        [a.username for a in to_rotate if a.password is not None],
    )


def _find(known: list[Account], name: str) -> Account:
    for account in known:
        if name in (account.device_id, account.username):
            return account
    raise CredentialsError(f"{name!r} is neither an MQTT device of the room file nor the hub's user name")


def _read_csv_rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of a file this module wrote; a file of another shape is refused, not guessed at."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None or not set(columns) <= set(reader.fieldnames):
        raise CredentialsError(f"{path}: expected the columns {','.join(columns)} (a file this command wrote)")
    rows = [{key: spreadsheet.restore(row.get(key) or "") for key in columns} for row in reader]
    return [row for row in rows if row[columns[0]]]


def _read_csv(path: Path) -> dict[str, str]:
    return {row["username"]: row["password"] for row in _read_csv_rows(path, ("username", "password"))}


def _csv(header: list[str], rows: Iterable[list[str]]) -> str:
    out = io.StringIO(newline="")
    writer = spreadsheet.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _replace(path: Path, text: str) -> None:
    """Write ``path`` whole, readable by its owner only, keeping the owner of the file it
    replaces (Mosquitto's user, after the install guide's ``chown``)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    if os.geteuid() == 0 and path.exists():
        before = path.stat()
        os.chown(tmp, before.st_uid, before.st_gid)
    os.replace(tmp, path)


def _new_password() -> str:
    # URL-safe and without characters a technician could misread on a label.
    return secrets.token_urlsafe(15).replace("-", "x").replace("_", "y")

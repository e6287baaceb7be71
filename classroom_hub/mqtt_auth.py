"""Per-device MQTT credentials and topic rights for the room's Mosquitto.

``classroom-hub mqtt-credentials -c room.toml --out DIR`` writes, from the room file:

- ``passwd``: Mosquitto's password file (PBKDF2-SHA512, the ``$7$`` format of
  ``mosquitto_passwd``), one user per device plus the hub;
- ``acl``: each device may publish only its own status, telemetry, event and reply, and
  read only its own commands and the hub's status; the hub may use the room's tree and
  Home Assistant's discovery prefix;
- ``credentials.csv`` (mode 0600): user name and password for each, to load onto the
  devices. Running the command again keeps the passwords already there, so devices in
  the field keep working; a password set in the room file wins.

Mosquitto then needs ``password_file`` and ``acl_file`` (docs/install.md, "Device passwords").
"""

from __future__ import annotations

import base64
import csv
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from config.settings import HubSettings

PBKDF2_ITERATIONS = 101  # what mosquitto_passwd writes; the salt and SHA-512 carry the weight
DEVICE_WRITES = ("status", "telemetry", "event", "reply")


@dataclass(frozen=True, slots=True)
class Credential:
    username: str
    password: str
    role: str  # "hub" or the device kind


def mosquitto_hash(password: str, salt: bytes | None = None) -> str:
    """A password line's hash in Mosquitto 2's ``$7$`` (PBKDF2-SHA512) format."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    return f"$7${PBKDF2_ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def hub_username(settings: HubSettings) -> str:
    return settings.mqtt.username or settings.mqtt.client_id or f"hub-{settings.room.school_code}-{settings.room.id}"


def credentials(settings: HubSettings, existing: dict[str, str] | None = None) -> list[Credential]:
    """Everyone who connects to the room's broker directly (serial kits and wired displays
    reach it through the hub, so they need none)."""
    existing = existing or {}
    hub_user = hub_username(settings)
    hub_password = settings.mqtt.password.get_secret_value() if settings.mqtt.password else None
    out = [Credential(hub_user, hub_password or existing.get(hub_user) or _new_password(), "hub")]
    for device_id, device in settings.device_list():
        transport = device.transport
        if transport.type != "mqtt":
            continue
        username = transport.username or device_id
        password = transport.password.get_secret_value() if transport.password else None
        out.append(Credential(username, password or existing.get(username) or _new_password(), device.kind))
    return out


def acl(settings: HubSettings, creds: list[Credential]) -> str:
    room = settings.room.id
    base = f"classroom/{room}"
    lines = [f"# Topic rights for room {room} ({settings.room.name}); written by classroom-hub mqtt-credentials", ""]
    by_user = {c.username: c for c in creds}
    hub = next(c for c in creds if c.role == "hub")
    lines += [f"user {hub.username}", f"topic readwrite {base}/#", "topic readwrite homeassistant/#", ""]
    for device_id, device in settings.device_list():
        if device.transport.type != "mqtt":
            continue
        username = device.transport.username or device_id
        if username not in by_user:
            continue
        lines.append(f"user {username}")
        lines += [f"topic write {base}/devices/{device_id}/{channel}" for channel in DEVICE_WRITES]
        lines += [f"topic read {base}/devices/{device_id}/cmd", f"topic read {base}/hub/status", ""]
    return "\n".join(lines)


def write_files(settings: HubSettings, out_dir: Path) -> list[Credential]:
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "credentials.csv"
    existing: dict[str, str] = {}
    if csv_path.exists():
        with csv_path.open(newline="", encoding="utf-8") as f:
            existing = {row["username"]: row["password"] for row in csv.DictReader(f)}
    creds = credentials(settings, existing)
    _write_private(csv_path, _csv(creds))
    _write_private(out_dir / "passwd", "".join(f"{c.username}:{mosquitto_hash(c.password)}\n" for c in creds))
    (out_dir / "acl").write_text(acl(settings, creds), encoding="utf-8")
    return creds


def _csv(creds: list[Credential]) -> str:
    lines = ["username,password,role"] + [f"{c.username},{c.password},{c.role}" for c in creds]
    return "\n".join(lines) + "\n"


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)


def _new_password() -> str:
    # URL-safe and without characters a technician could misread on a label.
    return secrets.token_urlsafe(15).replace("-", "x").replace("_", "y")

"""The keys in a headset's download address of a scene.

A headset fetches a scene from ``/scenes/<sha256>?device=<id>&key=<key>``. The key is an HMAC
of the device id and the scene's hash under a secret of this hub, so it can be neither guessed
from a hash (sample scenes are public, their hashes too) nor moved to another headset's name.
The hub hands a key out only in that headset's own ``fetch_scene`` or ``launch_scene`` command,
on its own MQTT topic, which the broker lets no other client read (docs/devices.md). A student
on the room's Wi-Fi who learns a scene's hash still gets 403; a signed-in teacher or
technician downloads without a key. Each download is logged with the headset's id.

Removing ``<data_dir>/scene-files.key`` changes every key: addresses handed out earlier stop
working (a headset asks again on its next launch).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)

KEY_FILE = "scene-files.key"
_SECRET_BYTES = 32


class SceneKeys:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def load(cls, path: Path) -> SceneKeys:
        """The hub's secret from ``path``, made (readable by the hub's user only) when missing or damaged."""
        try:
            secret = path.read_bytes()
        except FileNotFoundError:
            secret = b""
        if len(secret) != _SECRET_BYTES:
            if secret:
                log.warning("event=scene_key_replaced path=%s reason='not %d bytes'", path, _SECRET_BYTES)
            secret = secrets.token_bytes(_SECRET_BYTES)
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".new")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, secret)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(partial, path)
        return cls(secret)

    def key(self, device_id: str, sha256: str) -> str:
        digest = hmac.new(self._secret, f"scene:{device_id}:{sha256}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")

    def check(self, device_id: str, sha256: str, key: str) -> bool:
        return hmac.compare_digest(self.key(device_id, sha256).encode(), key.encode())

    def url(self, base_url: str, device_id: str, sha256: str) -> str:
        return f"{base_url.rstrip('/')}/scenes/{sha256}?device={device_id}&key={self.key(device_id, sha256)}"

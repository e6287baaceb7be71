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

from pathlib import Path

from classroom_hub.url_keys import UrlKeys

KEY_FILE = "scene-files.key"


class SceneKeys:
    def __init__(self, keys: UrlKeys) -> None:
        self._keys = keys

    @classmethod
    def load(cls, path: Path) -> SceneKeys:
        """The hub's secret from ``path``, made (readable by the hub's user only) when missing or damaged."""
        return cls(UrlKeys.load(path, "scene"))

    def key(self, device_id: str, sha256: str) -> str:
        return self._keys.key(device_id, sha256)

    def check(self, device_id: str, sha256: str, key: str) -> bool:
        return self._keys.check(key, device_id, sha256)

    def url(self, base_url: str, device_id: str, sha256: str) -> str:
        return f"{base_url.rstrip('/')}/scenes/{sha256}?device={device_id}&key={self.key(device_id, sha256)}"

"""A VR/AR headset's commands (docs/devices.md, "Commands of a VR/AR headset").

The hub does not check these arguments (the headset's agent does and refuses with a reason);
the models document them and give the technician page its catalogue. :func:`scene_content`
is the ``content`` object of a launch, which tells a headset without the bundle where to
fetch it and which SHA-256 to expect.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from device_drivers.commands import STATUS, Arguments, CommandSpec

LAUNCH_TIMEOUT_S = 30.0  # a headset may have to fetch a missing scene from the hub first
SHA256 = r"^[0-9a-f]{64}$"
SCENE_EVENT = "scene_download"  # the event type of a headset's download progress
MAX_HELD = 500  # sha256s in a headset's ``scenes`` status field


class SceneContent(Arguments):
    id: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int | None = Field(None, ge=0, description="bytes, checked against the headset's free storage")
    url: str | None = Field(None, description="where to fetch it: /scenes/<sha256>?device=..&key=..")


class LaunchScene(Arguments):
    scene_id: str = Field(min_length=1)
    content: SceneContent | None = None


class FetchScene(Arguments):
    content: SceneContent


FailReason = Literal["hash_mismatch", "http_error", "no_storage", "network", "no_url", "cancelled"]


class SceneDownload(BaseModel):
    """The ``data`` of a headset's ``scene_download`` event: how far its download of one scene is."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sha256: str = Field(pattern=SHA256)
    state: Literal["downloading", "ready", "failed"]
    bytes: int = Field(0, ge=0, le=1 << 40)
    total: int | None = Field(None, ge=0, le=1 << 40)
    reason: FailReason | None = None
    detail: str | None = Field(None, max_length=300)


class HeldScenes(BaseModel):
    """The ``scenes`` field of a headset's status: the SHA-256 of every bundle complete in its cache."""

    scenes: list[Annotated[str, StringConstraints(pattern=SHA256)]] = Field(max_length=MAX_HELD)

    @classmethod
    def of(cls, value: Any) -> set[str] | None:
        """The hashes in a status's ``scenes`` field; None if it has none (an older agent) or it is malformed."""
        if value is None:
            return None
        try:
            return set(cls.model_validate({"scenes": value}).scenes)
        except ValidationError:
            return None


class EyesOnMe(Arguments):
    on: bool = True
    message: str | None = Field(None, max_length=200)


class Volume(Arguments):
    level: int = Field(ge=0, le=100)


CATALOGUE: tuple[CommandSpec, ...] = (
    CommandSpec("launch_scene", LaunchScene, {"scene_id": ""}, done="launched", timeout_s=LAUNCH_TIMEOUT_S),
    CommandSpec("fetch_scene", FetchScene, {"content": {"id": "", "sha256": "0" * 64}}, done="fetching"),
    CommandSpec("pause", done="paused"),
    CommandSpec("resume", done="resumed"),
    CommandSpec("eyes_on_me", EyesOnMe, {"on": True}, done="showing eyes on me"),
    CommandSpec("home", done="back home"),
    CommandSpec("volume", Volume, {"level": 50}, done="volume set"),
    STATUS,
)


def scene_content(content_id: str, sha256: str, size: int | None, base_url: str | None) -> dict[str, Any]:
    """The ``content`` object of a ``launch_scene``: the bundle, and its URL on the hub when known."""
    content: dict[str, Any] = {"id": content_id, "sha256": sha256}
    if size is not None:
        content["size"] = size
    if base_url:
        content["url"] = f"{base_url.rstrip('/')}/scenes/{sha256}"
    return content

"""A VR/AR headset's commands (docs/devices.md, "Commands of a VR/AR headset").

The hub does not check these arguments (the headset's agent does and refuses with a reason);
the models document them and give the technician page its catalogue. :func:`scene_content`
is the ``content`` object of a launch, which tells a headset without the bundle where to
fetch it and which SHA-256 to expect.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from device_drivers.commands import STATUS, Arguments, CommandSpec

LAUNCH_TIMEOUT_S = 30.0  # a headset may have to fetch a missing scene from the hub first


class SceneContent(Arguments):
    id: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int | None = Field(None, ge=0, description="bytes, checked against the headset's free storage")
    url: str | None = Field(None, description="where the headset fetches the bundle: the hub's /scenes/<sha256>")


class LaunchScene(Arguments):
    scene_id: str = Field(min_length=1)
    content: SceneContent | None = None


class EyesOnMe(Arguments):
    on: bool = True
    message: str | None = Field(None, max_length=200)


class Volume(Arguments):
    level: int = Field(ge=0, le=100)


CATALOGUE: tuple[CommandSpec, ...] = (
    CommandSpec("launch_scene", LaunchScene, {"scene_id": ""}, done="launched", timeout_s=LAUNCH_TIMEOUT_S),
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

"""An AR device's commands: a headset's (device_drivers/headset/commands.py) and the 3D model
of a lesson's ``model`` step (docs/devices.md, "Commands of an AR device").

``open_model`` names the model by an absolute address on the hub (the running lesson's keyed
file address, classroom_hub/lessons/file_keys.py); the device downloads it, checks it is a
glTF (``.glb``: the ``glTF`` magic; ``.gltf``: JSON with ``asset.version``), shows it and
reports ``showing_model`` in its status. ``close_model`` puts it away.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from device_drivers.commands import Arguments, CommandSpec
from device_drivers.headset.commands import CATALOGUE as HEADSET_CATALOGUE

OPEN_MODEL_TIMEOUT_S = 60.0  # the device downloads the model before it answers
MAX_URL = 2000


def _absolute_http(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http:// or https:// address on the hub")
    if parts.username or parts.password:
        raise ValueError("an address with a user name or password is refused")
    return url


class OpenModel(Arguments):
    url: Annotated[str, Field(min_length=1, max_length=MAX_URL), AfterValidator(_absolute_http)]
    title: str = Field("", max_length=200, description="what the model shows, for the device's screen")


CATALOGUE: tuple[CommandSpec, ...] = (
    *HEADSET_CATALOGUE,
    CommandSpec(
        "open_model", OpenModel, {"url": "http://hub.local:8080/lesson/…/model.glb", "title": ""},
        done="showing the model", timeout_s=OPEN_MODEL_TIMEOUT_S,
    ),
    CommandSpec("close_model", done="model closed"),
)

"""What every settings model of the room file is built on; imports nothing of the hub.

Kept apart from ``config/settings.py`` because the device kinds' and the packages' settings
models import it while ``config/settings.py`` is still assembling the room's model from them.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

# Ids travel in MQTT topics and URLs: keep them to characters safe in both.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
ID_RE = re.compile(ID_PATTERN)


class Option(BaseModel):
    """Base of every option model: unknown keys are typos, not silently ignored."""

    # TOML writes inf and nan: a timeout of inf never fires, a backoff of inf never reconnects.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

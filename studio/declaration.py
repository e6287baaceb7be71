"""The lecture studio declares itself to the hub (entry point ``studio``, classroom_hub/packages.py).

Its settings are the room file's ``[studio]`` section (studio/settings.py); until the release
after this one, an older ``<data_dir>/studio/studio.toml`` is still read, with a warning
naming the new place, when the room file has no ``[studio]`` section (docs/studio.md).
Its code needs OpenCV and numpy (``pip install 'classroom-hub[studio]'``): a room that is not
a studio runs without them.
"""

from __future__ import annotations

from pathlib import Path

from classroom_hub.packages import Package, Page, Section
from studio.settings import StudioSettings, is_studio

PACKAGE = Package(
    name="studio",
    setup="studio.web:setup",
    after=("wired",),  # the studio powers displays through the wired drivers when they run one
    settings=Section("studio", StudioSettings, old_file="studio/studio.toml"),
    cli="studio.cli:register",
    pages=(Page("studio", ("studio_staff",)),),
    translations=Path(__file__).parent / "i18n",
    simulator="studio.simulated:simulate",  # the demo: synthetic cameras and test tones are the studio's own
    demo_links="studio.simulated:demo_links",
    needed=is_studio,
)

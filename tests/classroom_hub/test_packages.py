"""Packages declare themselves: found through their entry points, set up in order, and one that
cannot be imported is reported while the rest of the hub runs."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import aiohttp
import pytest

from classroom_hub import app as hub_app
from classroom_hub.keys import HEALTH, PACKAGES
from classroom_hub.packages import GROUP, Package, declared_packages, load_packages
from tests.conftest import room_settings, run_hub

ROOT = Path(__file__).resolve().parents[2]
# A box without the studio's extra: OpenCV and numpy cannot be imported.
WITHOUT_OPENCV = """
import importlib.abc, sys
class NoOpenCV(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("cv2", "numpy"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoOpenCV())
"""


def test_every_package_declares_itself_and_comes_after_what_it_needs() -> None:
    order = list(declared_packages())
    assert set(order) == {"admin", "discovery", "fleet", "kits", "labs", "lessons", "pusher", "studio", "wired"}
    for package in declared_packages().values():
        assert all(order.index(before) < order.index(package.name) for before in package.after), package.name


def test_a_declaration_that_cannot_load_is_reported_and_the_others_load() -> None:
    entries = [
        EntryPoint("lessons", "classroom_hub.lessons.declaration:PACKAGE", GROUP),
        EntryPoint("hologram", "hologram_package.declaration:PACKAGE", GROUP),
        EntryPoint("fleet", "classroom_hub.lessons.declaration:PACKAGE", GROUP),  # declares another package
        EntryPoint("wired", "classroom_hub.wired.declaration:PACKAGE", GROUP),
    ]
    packages, unavailable = load_packages(entries)
    assert list(packages) == ["lessons", "wired"]
    assert "No module named 'hologram_package'" in unavailable["hologram"]
    assert "'fleet'" in unavailable["fleet"] and "'lessons'" in unavailable["fleet"]


async def test_a_package_that_cannot_be_imported_is_down_on_healthz_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = Package(name="hologram", setup="hologram_package.web:setup")
    unneeded = Package(name="planetarium", setup="planetarium_package.web:setup", needed=lambda settings: False)
    monkeypatch.setattr(hub_app, "declared_packages", lambda: {**declared_packages(), "hologram": broken,
                                                               "planetarium": unneeded})  # fmt: skip
    async with run_hub(room_settings(tmp_path, None)) as hub:
        async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/healthz") as r:
            assert r.status == 503
            body = await r.json()
        assert body["parts"]["hologram"] == "down"
        assert "No module named 'hologram_package'" in body["reasons"]["hologram"]
        assert "planetarium" not in body["parts"]  # this room does not need it
        # The rest of the hub runs: every other package is set up, its parts up.
        assert [p.name for p in hub.app[PACKAGES]] == list(declared_packages())
        assert all(state == "up" for part, state in body["parts"].items() if part != "hologram")
        assert hub.app[HEALTH].reasons == {"hologram": body["reasons"]["hologram"]}


def _without_opencv(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_OPENCV + code], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)  # fmt: skip


def test_a_classroom_runs_without_opencv_and_a_studio_says_what_it_misses(tmp_path: Path) -> None:
    code = f"""
import json
from classroom_hub.app import build_app
from classroom_hub.keys import HEALTH, PACKAGES
from tests.conftest import room_settings
out = {{}}
for kind in ("classroom", "studio"):
    room = {{"school_code": "TEST", "id": "r-" + kind, "name": "R", "kind": kind}}
    app = build_app(room_settings(__import__("pathlib").Path({str(tmp_path)!r}) / kind, None, room=room))
    ok, parts = app[HEALTH].report()
    out[kind] = {{"ok": ok, "parts": parts, "reasons": app[HEALTH].reasons,
                 "packages": [p.name for p in app[PACKAGES]], "routes": len(app.router.routes())}}
print(json.dumps(out))
"""
    result = _without_opencv(code)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    classroom, studio = out["classroom"], out["studio"]
    assert "studio" not in classroom["packages"] and "studio" not in classroom["parts"]
    assert {"lessons", "fleet", "labs", "pusher"} <= set(classroom["packages"])
    assert studio["parts"]["studio"] == "down"
    assert "No module named 'cv2'" in studio["reasons"]["studio"]


def test_the_cli_and_check_config_work_without_opencv() -> None:
    code = """
import sys
from classroom_hub.cli import main
sys.exit(main(["check-config", "config/examples/studio.toml"]))
"""
    result = _without_opencv(code)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
    result = _without_opencv("from classroom_hub.cli import main; main(['studio', 'today', '--help'])")
    assert "today's bookings" in result.stdout or "--days" in result.stdout, result.stderr

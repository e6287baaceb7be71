"""Every fault scenario of tests/faults/, run once each: what was lost, what doubled, how long
from the fault clearing to full service.

    python bench/faults.py [--only disk_full,sigkill_ingest] [--kills 10] [--cycles 2]

Scenarios (each an ``async def (workdir, **opts) -> dict`` the tests call too):
- the hub's own: ``disk_full`` (a tmpfs filled up: needs root), ``broker_restart``,
  ``central_down`` (PostgreSQL on 127.0.0.1:5432 cut off by a relay), ``lrs_down`` (Ralph,
  ``make ralph``): tests/faults/store.py;
- SIGKILL loops: ``sigkill_ingest``, ``sigkill_push``: tests/faults/kills.py;
- devices unplugged: ``display_unplugged``, ``camera_unplugged``, ``kit_unplugged``:
  tests/faults/test_devices_unplugged.py;
- lessons: whatever ``SCENARIOS`` tests/faults/lessons.py offers, if it exists.

Targets per fault: 0 lost, 0 duplicated, recovery <= 10 s. Floor, measured in the same run:
``floor_start_s``, the time a hub process takes from its start to a healthy /healthz with no
fault at all (the least a recovery that restarts the hub can take).

Prints a line per fault, then one JSON line last: ``faults`` (name -> lost, duplicated,
recovery_s, met, or skipped/error with the reason), ``floor_start_s``, ``all_met``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classroom_hub.bus.broker import free_port  # noqa: E402
from tests.faults.kills import _room_file  # noqa: E402
from tests.faults.store import NotPossibleHere  # noqa: E402
from tests.hub_process import HubProcess  # noqa: E402

TARGET_RECOVERY_S = 10.0
MODULES = ("tests.faults.store", "tests.faults.kills", "tests.faults.test_devices_unplugged")
OPTIONAL = ("tests.faults.lessons",)  # written by another engineer: used when it exists


def scenarios() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in MODULES:
        found.update(importlib.import_module(name).SCENARIOS)
    for name in OPTIONAL:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            print(f"{name}: not there (yet): its scenarios are not run", file=sys.stderr)
            continue
        found.update(getattr(module, "SCENARIOS", {}))
    return found


async def floor_start_s(workdir: Path) -> float:
    """A hub process from its start to a healthy /healthz, with no fault (its own Mosquitto)."""
    from tests.conftest import Mosquitto

    mosquitto = Mosquitto(workdir / "mosquitto")
    mosquitto.start()
    port = free_port()
    config = _room_file(workdir, f'[mqtt]\nurl = "{mosquitto.url}"\n[http]\nhost = "127.0.0.1"\nport = {port}\n')
    hub = HubProcess(config, port, workdir / "hub.log", log_level="warning")
    try:
        started = time.monotonic()
        hub.start()
        await hub.healthy(60)
        return round(time.monotonic() - started, 3)
    finally:
        hub.kill()
        mosquitto.stop()


async def run(only: set[str] | None, opts: dict[str, Any]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        floor = await floor_start_s(Path(tmp) / "floor")
        print(f"floor: a hub process healthy {floor:.2f} s after its start", file=sys.stderr)
        for name, scenario in scenarios().items():
            if only is not None and name not in only:
                continue
            workdir = Path(tmp) / name
            workdir.mkdir()
            try:
                outcome = await scenario(workdir, **opts)
            except NotPossibleHere as err:
                results[name] = {"skipped": str(err)}
                print(f"{name}: SKIPPED: {err}", file=sys.stderr)
                continue
            except Exception as err:  # one broken scenario must not hide the others' figures
                traceback.print_exc()
                results[name] = {"error": f"{type(err).__name__}: {err}"[:300], "met": False}
                print(f"{name}: FAILED: {err}", file=sys.stderr)
                continue
            recovery = outcome.get("recovery_s")
            recovery = round(recovery, 3) if recovery is not None else None
            met = outcome["lost"] == 0 and outcome["duplicated"] == 0 and (recovery or 0) <= TARGET_RECOVERY_S
            results[name] = {"lost": outcome["lost"], "duplicated": outcome["duplicated"], "recovery_s": recovery,
                             "met": met}  # fmt: skip
            print(f"{name}: lost {outcome['lost']}, duplicated {outcome['duplicated']}, "
                  f"recovery {recovery} s{'' if met else '  <-- target missed'}", file=sys.stderr)  # fmt: skip
    ran = [r for r in results.values() if "skipped" not in r]
    return {
        "bench": "faults",
        "faults": results,
        "targets": {"lost": 0, "duplicated": 0, "recovery_s_max": TARGET_RECOVERY_S},
        "floor_start_s": floor,
        "all_met": bool(ran) and all(r.get("met") for r in ran),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated scenario names")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--cycles", type=int, default=2)
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    report = asyncio.run(run(only, {"kills": args.kills, "cycles": args.cycles}))
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()

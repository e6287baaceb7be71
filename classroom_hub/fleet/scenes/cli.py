"""``classroom-hub scene``: import a VR/AR scene package into the hub's library, list the library."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from classroom_hub.fleet.scenes.package import SceneError
from classroom_hub.fleet.scenes.shelf import SceneShelf
from config.loader import load_settings


def register(sub: Any) -> None:
    scene = sub.add_parser("scene", help="the hub's VR/AR scene library")
    actions = scene.add_subparsers(metavar="ACTION")

    imp = actions.add_parser("import", help="check a scene package (.zip with scene.json) and store it")
    imp.add_argument("path", help="the scene package (.zip)")
    imp.add_argument("-c", "--config", required=True, help="the room file (TOML)")
    imp.set_defaults(func=_import)

    lst = actions.add_parser("list", help="list the stored scenes")
    lst.add_argument("-c", "--config", required=True, help="the room file (TOML)")
    lst.set_defaults(func=_list)


def shelf_of(config: str) -> SceneShelf:
    return SceneShelf(load_settings(config).data_dir / "scenes")


def _import(args: argparse.Namespace) -> int:
    try:
        scene = shelf_of(args.config).import_package(args.path)
    except SceneError as err:
        print(f"{args.path}: {len(err.problems)} problem(s), nothing stored:", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"stored {scene.content_id} {scene.version} ({scene.platform}, {scene.size} bytes) as {scene.sha256[:12]}")
    return 0


def _list(args: argparse.Namespace) -> int:
    scenes = shelf_of(args.config).list()
    if not scenes:
        print("no scenes stored (import one with `classroom-hub scene import PACKAGE.zip`)")
        return 0
    print(f"{'CONTENT ID':<40} {'PLATFORM':<11} {'SIZE':>11} {'SHA256':<12} TITLE")
    for s in scenes:
        print(f"{s.content_id:<40} {s.platform:<11} {s.size:>11} {s.sha256[:12]:<12} {s.title}")
    return 0

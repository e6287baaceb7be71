"""``classroom-hub lessons``: import and list the hub's lessons, hand out student PINs."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from classroom_hub.fleet.scenes.package import SceneError
from classroom_hub.fleet.scenes.shelf import SceneShelf, import_lesson_scenes
from classroom_hub.lessons.errors import LessonError
from classroom_hub.lessons.library import LessonLibrary
from classroom_hub.lessons.pins import PIN_FILE, PinBook
from config.loader import load_settings


def register(sub: Any) -> None:
    lessons = sub.add_parser("lessons", help="the hub's lesson library")
    actions = lessons.add_subparsers(metavar="ACTION")

    imp = actions.add_parser("import", help="check a lesson package (folder or .zip) and store it")
    imp.add_argument("path", help="the package folder or .zip")
    imp.add_argument("-c", "--config", required=True, help="the room file (TOML)")
    imp.set_defaults(func=_import)

    lst = actions.add_parser("list", help="list the stored lessons")
    lst.add_argument("-c", "--config", required=True, help="the room file (TOML)")
    lst.set_defaults(func=_list)

    pins = actions.add_parser("pins", help="give every student of a class a PIN and print the list")
    pins.add_argument("class_id", help="the class's sourcedId, e.g. khtn-7a")
    pins.add_argument("-c", "--config", required=True, help="the room file (TOML)")
    pins.set_defaults(func=_pins)


def _library(config: str) -> LessonLibrary:
    return LessonLibrary(load_settings(config).data_dir / "lessons")


def _import(args: argparse.Namespace) -> int:
    library = _library(args.config)
    stored_before = {r.hash for r in library.list()}
    try:
        record = library.import_package(args.path)
        # Scene packages in the lesson's scenes/ go to the hub's scene library (docs/scenes.md).
        shelf = SceneShelf(load_settings(args.config).data_dir / "scenes")
        scenes = import_lesson_scenes(shelf, library.open(record.hash).folder, record.id)
    except (LessonError, SceneError) as err:
        if isinstance(err, SceneError) and record.hash not in stored_before:
            library.remove(record.hash)
        problems = err.problems
        print(f"{args.path}: {len(problems)} problem(s), nothing stored:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"stored {record.id} {record.version} ({record.step_count} steps, {record.file_count} files) "
          f"as {record.hash[:12]}")  # fmt: skip
    for scene in scenes:
        print(f"  with scene {scene.content_id} ({scene.platform}, {scene.size} bytes) as {scene.sha256[:12]}")
    return 0


def _list(args: argparse.Namespace) -> int:
    records = _library(args.config).list()
    if not records:
        print("no lessons stored (import one with `classroom-hub lessons import PATH`)")
        return 0
    print(f"{'ID':<34} {'VERSION':<8} {'GRADE':>5} {'SUBJECT':<12} {'STEPS':>5} {'HASH':<12} TITLE")
    for r in records:
        print(f"{r.id:<34} {r.version:<8} {r.grade:>5} {r.subject:<12} {r.step_count:>5} {r.hash[:12]:<12} {r.title}")
    return 0


def _pins(args: argparse.Namespace) -> int:
    from classroom_hub.lessons.rosters import roster_path
    from classroom_hub.roster import RosterCache

    settings = load_settings(args.config)
    with RosterCache(roster_path(settings.data_dir)) as roster:
        students = roster.students(args.class_id)
    if not students:
        print(f"error: no students in class {args.class_id!r} of the hub's roster", file=sys.stderr)
        return 1
    book = PinBook.load(settings.data_dir / PIN_FILE)
    given = book.give(s.sourced_id for s in students)
    book.save()
    for student in students:
        print(f"{student.sourced_id:<16} {given[student.sourced_id]}  {student.display_name}")
    return 0

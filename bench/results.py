"""What results and backups cost a hub after a school year: folding the stored statements into the
gradebook, a class's gradebook across every lesson, its CSV, and a backup zip of the databases.

    python bench/results.py [--runs 200] [--students 40] [--questions 5]

Builds a telemetry store holding ``--runs`` lessons of one class (launch, joins, each question
shown and answered by every student, the end: ~12 statements per student per run), as the
lessons record them (classroom_hub/xapi.py), then measures against floors taken in the same run:

- fold: the gradebook folding every statement (``Gradebook.catch_up``), statements per second;
  floor: reading the same statements out of the store and parsing their JSON, which any reader
  of them must do (``floor_per_s``);
- gradebook: the class's gradebook over every run (``class_results``) and its CSV, in ms;
- backup: ``Backups.make`` (SQLite online backup of each database, integrity check, zip);
  floor: the same files copied and zipped as they are, with no backup API and no check.

Prints one JSON line last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classroom_hub import xapi  # noqa: E402
from classroom_hub.admin.backups import Backups  # noqa: E402
from classroom_hub.lessons.exports import gradebook_csv  # noqa: E402
from classroom_hub.lessons.gradebook import Gradebook  # noqa: E402
from classroom_hub.lessons.report import class_results  # noqa: E402
from classroom_hub.store import TelemetryStore  # noqa: E402


def lesson(run: int, students: int, questions: int) -> list[dict[str, Any]]:
    setting = xapi.Setting(home="http://hub.local", school_code="THCS-DEMO", room_id="lop-7a", room_name="Lớp 7A",
                           class_id="khtn-7a", class_title="Khoa học tự nhiên - Lớp 7A", lesson_id=f"bai-{run}",
                           lesson_title=f"Bài {run}", language="vi", registration=str(uuid.uuid4()),
                           instructor="co-lan")  # fmt: skip
    t0 = 1_760_000_000.0 + run * 86400
    whole = setting.lesson_activity()
    out = [setting.statement(("lesson",), "co-lan", "launched", whole, t0, in_lesson=False)]
    ids = [f"hs-7a-{n:02d}" for n in range(1, students + 1)]
    out += [setting.statement((s, "1"), s, "joined", whole, t0 + 5, in_lesson=False) for s in ids]
    for q in range(questions):
        choices = [{"id": c, "description": {"vi": f"Lựa chọn {c}"}} for c in "abcd"]
        activity = xapi.activity(setting.step_iri(f"cau-{q}"), "quiz", f"Câu hỏi số {q}", "vi",
                                 interactionType="choice", choices=choices, correctResponsesPattern=["a"])  # fmt: skip
        step = {xapi.EXT_STEP_INDEX: q}
        for n, s in enumerate(ids):
            right = (n + q + run) % 3 != 0
            out.append(setting.statement((s, f"cau-{q}"), s, "experienced", activity, t0 + 60 * q, extensions=step))
            result = {"response": "a" if right else "b", "success": right, "score": xapi.score(int(right), 1),
                      "duration": "PT20S"}
            out.append(setting.statement((s, f"cau-{q}"), s, "answered", activity, t0 + 60 * q + 20, extensions=step,
                                         result=result))  # fmt: skip
    out += [setting.statement((s,), s, "completed", whole, t0 + 2700, in_lesson=False) for s in ids]
    out.append(setting.statement(("lesson",), "co-lan", "completed", whole, t0 + 2700, in_lesson=False))
    return out


async def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    data = folder / "hub"
    store = TelemetryStore(data / "telemetry.db", synchronous="NORMAL")
    await store.open()
    total = 0
    for run in range(args.runs):
        total += await store.add_statements(lesson(run, args.students, args.questions))
    size_mb = (data / "telemetry.db").stat().st_size / 2**20
    print(f"{total} statements stored ({size_mb:.0f} MB)")

    started = time.perf_counter()
    after, parsed = 0, 0
    while rows := await store.read_after("statements", after, 2000):
        parsed += sum(1 for row in rows if json.loads(row[-1]))
        after = rows[-1][0]
    floor_s = time.perf_counter() - started

    gradebook = Gradebook(data / "gradebook.db")
    started = time.perf_counter()
    folded = await gradebook.catch_up(store)
    fold_s = time.perf_counter() - started
    assert folded == parsed == total
    started = time.perf_counter()
    runs = await gradebook.runs("khtn-7a")
    records = await gradebook.records(r.run for r in runs)
    class_list = [(f"hs-7a-{n:02d}", f"Học sinh {n}") for n in range(1, args.students + 1)]
    book = class_results("khtn-7a", "Khoa học tự nhiên - Lớp 7A", records, class_list)
    book_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    csv_bytes = len(gradebook_csv(book, lambda key: key))
    csv_ms = (time.perf_counter() - started) * 1000
    await gradebook.close()
    await store.close()
    print(f"fold {total / fold_s:.0f}/s (floor {total / floor_s:.0f}/s); gradebook of {len(runs)} lessons "
          f"{book_ms:.0f} ms, its CSV {csv_ms:.0f} ms ({csv_bytes} bytes)")  # fmt: skip

    backups = Backups(data, "lop-7a")
    started = time.perf_counter()
    manifest = await asyncio.get_running_loop().run_in_executor(None, backups.make, folder / "backup.zip")
    backup_s = time.perf_counter() - started
    started = time.perf_counter()
    with zipfile.ZipFile(folder / "floor.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in manifest["files"]:
            shutil.copyfile(data / entry["path"], folder / "copy.db")
            archive.write(folder / "copy.db", entry["path"])
    backup_floor_s = time.perf_counter() - started
    print(f"backup {backup_s:.2f} s (floor {backup_floor_s:.2f} s), zip {(folder / 'backup.zip').stat().st_size} bytes")
    return {
        "bench": "results", "runs": args.runs, "students": args.students, "questions": args.questions,
        "statements": total, "store_mb": round(size_mb, 1),
        "fold_per_s": round(total / fold_s), "floor_per_s": round(total / floor_s),
        "fold_ratio": round(floor_s / fold_s, 3),
        "gradebook_ms": round(book_ms, 1), "gradebook_csv_ms": round(csv_ms, 1), "gradebook_csv_bytes": csv_bytes,
        "backup_s": round(backup_s, 2), "backup_floor_s": round(backup_floor_s, 2),
        "backup_ratio": round(backup_floor_s / backup_s, 3),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--questions", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        result = asyncio.run(measure(args, Path(folder)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""The lessons' figures for ``/metrics`` (named in the lessons' declaration): the running lesson's
commits to ``lessons.db``, its failed writes, and the answers waiting for their commit."""

from __future__ import annotations

from classroom_hub.lessons.keys import LESSONS
from classroom_hub.metrics import Config, Exposition


async def collect(app: Config, out: Exposition) -> None:
    if LESSONS not in app:
        return
    classroom = app[LESSONS]
    out.one("lesson_commits_total", "counter", "Commits of the running lesson to lessons.db.", classroom.runs.commits)
    out.one("lesson_write_errors_total", "counter", "Writes of the running lesson that failed (each retried).",
            classroom.runs.errors)  # fmt: skip
    out.one("lesson_saving_failing", "gauge", "1 while the running lesson or its statements cannot be written.",
            1 if classroom.failing() is not None else 0)  # fmt: skip
    out.one("answers_unacknowledged", "gauge", "Answers taken and waiting for their commit before 'answered'.",
            len(classroom.waiting_answers))  # fmt: skip

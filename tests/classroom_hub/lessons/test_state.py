"""Revisions of the lesson state: deltas to catch up, snapshots when too far behind."""

from __future__ import annotations

from classroom_hub.lessons.state import LessonState


def test_changes_since_a_revision_are_merged_latest_first() -> None:
    state = LessonState("run-1")
    state.change({"step": {"index": 0}, "locked": False})
    state.change({"step": {"index": 1}})
    state.change({"locked": True})
    assert state.rev == 3
    assert state.since(1, "run-1") == {"step": {"index": 1}, "locked": True}
    assert state.since(2, "run-1") == {"locked": True}
    assert state.since(3, "run-1") == {}
    assert state.snapshot() == {"step": {"index": 1}, "locked": True}


def test_a_snapshot_is_needed_from_another_run_a_future_revision_or_beyond_the_log() -> None:
    state = LessonState("run-1", log_size=3)
    for index in range(6):
        state.change({"step": {"index": index}})
    assert state.since(None, "run-1") is None
    assert state.since(2, "run-0") is None
    assert state.since(7, "run-1") is None
    assert state.since(2, "run-1") is None  # revisions 1-3 fell out of the log
    assert state.since(3, "run-1") == {"step": {"index": 5}}


def test_when_each_revision_was_published_is_remembered() -> None:
    state = LessonState("run-1", log_size=2)
    for _ in range(3):
        state.change({"x": 1})
    assert state.published_at(1) is None
    first, second = state.published_at(2), state.published_at(3)
    assert first is not None and second is not None and first <= second
    assert state.published_at(4) is None

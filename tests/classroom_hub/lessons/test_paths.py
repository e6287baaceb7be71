"""Whatever name a zip or a manifest holds, an accepted one stays inside the package."""

from __future__ import annotations

import posixpath
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classroom_hub.lessons.paths import check_package_path, is_ignored

parts = st.sampled_from(["..", ".", "", "a", "slides", "Ảnh", "C:", "\\", "/", ".git", "x.svg", "a\x00b", "e\u0301"])


@given(st.lists(parts, max_size=6).map("".join) | st.text(max_size=40))
def test_accepted_names_never_leave_the_package(name: str) -> None:
    try:
        clean = check_package_path(name)
    except ValueError:
        return
    assert not clean.startswith("/")
    assert posixpath.normpath(clean) == clean
    assert ".." not in clean.split("/")
    assert unicodedata.is_normalized("NFC", clean)
    assert not is_ignored(clean)


def test_decomposed_accents_from_macos_match_the_manifest() -> None:
    assert check_package_path("slides/a\u0309nh.svg") == "slides/ảnh.svg"


@pytest.mark.parametrize("name", [".DS_Store", "__MACOSX/bai/._lesson.json", "slides/Thumbs.db", ".git/HEAD"])
def test_tool_litter_is_ignored(name: str) -> None:
    assert is_ignored(name)
    assert check_package_path(name, hidden_ok=True)

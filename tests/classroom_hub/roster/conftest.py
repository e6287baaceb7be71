"""Fixtures for the roster tests: the shipped demo bundle and copies of it to spoil."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import classroom_hub.roster

SAMPLE = Path(classroom_hub.roster.__file__).parent / "samples" / "demo-school"


@pytest.fixture
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A writable copy of the demo bundle."""
    target = tmp_path / "bundle"
    shutil.copytree(SAMPLE, target)
    return target

"""How each lesson file is served: its type from its name, never sniffed; a sandbox for all but
plain media; downloads for unknown types. And the keys in the files' addresses."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from classroom_hub.lessons.file_keys import FileKeys
from classroom_hub.lessons.manifest import (
    CAPTION_EXTENSIONS,
    HTML_EXTENSIONS,
    IMAGE_EXTENSIONS,
    PDF_EXTENSIONS,
    VIDEO_EXTENSIONS,
)
from classroom_hub.lessons.web_files import SANDBOXED_TYPES, SCRIPTED_POLICY, file_headers

# Every extension a manifest may name, and what a page would do with each.
SHOWN_AS_IS = [*(e for e in IMAGE_EXTENSIONS if e != ".svg"), *VIDEO_EXTENSIONS, *PDF_EXTENSIONS, *CAPTION_EXTENSIONS]


@pytest.mark.parametrize("suffix", [*SHOWN_AS_IS, ".MP4", ".JPG", ".woff2", ".mp3", ".wav"])
def test_plain_media_are_served_as_they_are(suffix: str) -> None:
    headers = file_headers(f"media/file{suffix}")
    assert "Content-Security-Policy" not in headers and "Content-Disposition" not in headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Type"].split("/")[0] in ("image", "video", "audio", "font", "application", "text")
    assert headers["Content-Type"] not in ("text/html", "application/octet-stream")


@pytest.mark.parametrize("suffix", [*HTML_EXTENSIONS, ".xhtml", ".HTML"])
def test_pages_run_their_script_only_in_a_sandbox_without_network(suffix: str) -> None:
    headers = file_headers(f"slides/page{suffix}")
    assert headers["Content-Security-Policy"] == SCRIPTED_POLICY
    assert "allow-same-origin" not in headers["Content-Security-Policy"]


@pytest.mark.parametrize("suffix", [".svg", ".xml", ".xsl", ".xslt", ".js", ".css", ".json", ".txt", ".md", ".csv"])
def test_everything_else_a_browser_could_open_is_sandboxed_without_script(suffix: str) -> None:
    headers = file_headers(f"x/file{suffix}")
    assert headers["Content-Security-Policy"].split(";")[0] == "sandbox"
    assert headers["Content-Type"] == SANDBOXED_TYPES[suffix] and headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("name", ["payload.exe", "bai.docx", "noextension", "trick.html.", "a.php", "b.shtml"])
def test_unknown_types_are_downloads_in_a_sandbox(name: str) -> None:
    headers = file_headers(name)
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"] == "attachment"
    assert headers["Content-Security-Policy"].startswith("sandbox;")


def test_file_keys_are_secret_stable_and_change_with_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "lesson-files.key"
    keys = FileKeys.load(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    key = keys.key("a" * 64)
    assert len(key) == 22 and key != keys.key("b" * 64)
    assert FileKeys.load(path).key("a" * 64) == key  # the same after a restart: tablets keep their cache
    assert keys.check("a" * 64, key) and not keys.check("a" * 64, key[:-1] + ("A" if key[-1] != "A" else "B"))
    path.write_bytes(b"short")  # damaged: replaced, and every key changes
    assert FileKeys.load(path).key("a" * 64) != key and len(path.read_bytes()) == 32



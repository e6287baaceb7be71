"""Every page string comes from the catalogs, and both languages have every string."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from classroom_hub.app import build_app
from classroom_hub.keys import CATALOGUES
from classroom_hub.web import catalogue as i18n
from tests.conftest import room_settings

WEB = Path(__file__).resolve().parents[3] / "classroom_hub" / "web"
STATIC_DIRS = [WEB / "static"]


def catalog(lang: str) -> dict[str, str]:
    """What the pages get: the core's catalogue merged with each package's and device kind's."""
    return i18n.catalogue(lang)


def test_both_languages_have_the_same_keys() -> None:
    vi, en = catalog("vi"), catalog("en")
    assert sorted(set(vi) - set(en)) == []
    assert sorted(set(en) - set(vi)) == []
    assert all(v.strip() for v in vi.values()) and all(v.strip() for v in en.values())
    # ... in each catalogue of its own too: a package or kind without the hub's core still speaks both.
    for folder in i18n.folders():
        vi_keys = set(json.loads((folder / "vi.json").read_text(encoding="utf-8")))
        assert vi_keys == set(json.loads((folder / "en.json").read_text(encoding="utf-8"))), folder


def test_two_catalogues_may_not_give_one_key_two_texts(tmp_path: Path) -> None:
    for name, text in (("a", "Bật"), ("b", "Mở")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "vi.json").write_text(json.dumps({"fleet.cmd.power": text}), encoding="utf-8")
    assert i18n.catalogue("vi", [tmp_path / "a", tmp_path / "a"]) == {"fleet.cmd.power": "Bật"}
    with pytest.raises(i18n.CatalogueError, match=r"'fleet\.cmd\.power' has two texts"):
        i18n.catalogue("vi", [tmp_path / "a", tmp_path / "b"])


def test_the_hub_serves_the_merged_catalogue(tmp_path: Path) -> None:
    app = build_app(room_settings(tmp_path, None))
    served = json.loads(app[CATALOGUES]["vi"])
    assert served == catalog("vi")
    # From the core, a package (the lab) and a device kind (the display), in one catalogue.
    assert {"login.title", "lab.title", "kind.display", "fleet.cmd.power"} <= set(served)


def test_vietnamese_is_really_vietnamese() -> None:
    vi = catalog("vi")
    assert "Đăng nhập" in vi["login.title"]
    # Most strings of the Vietnamese catalog carry Vietnamese letters, not English left-overs.
    marked = [
        v
        for v in vi.values()
        if re.search(r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", v, re.I)
    ]
    assert len(marked) / len(vi) > 0.7


def test_every_data_i18n_key_in_the_pages_exists() -> None:
    vi = catalog("vi")
    missing = []
    for page in WEB.glob("static/*.html"):
        for key in re.findall(r'data-i18n(?:-placeholder)?="([^"]+)"', page.read_text(encoding="utf-8")):
            if key not in vi:
                missing.append(f"{page.name}: {key}")
    assert missing == []

"""Every page string comes from the catalogs, and both languages have every string."""

from __future__ import annotations

import json
import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[3] / "classroom_hub" / "web"
STATIC_DIRS = [WEB / "static"]


def catalog(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((WEB / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
    return data


def test_both_languages_have_the_same_keys() -> None:
    vi, en = catalog("vi"), catalog("en")
    assert sorted(set(vi) - set(en)) == []
    assert sorted(set(en) - set(vi)) == []
    assert all(v.strip() for v in vi.values()) and all(v.strip() for v in en.values())


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

"""Every word a page shows comes from the catalogues, in both languages; no emoji; a tab title and an icon.

The pages (classroom_hub/web/static) are read as a reader's browser gets them: the HTML's text
and the scripts' strings that become text (``el(tag, "...")``, ``text: "..."``,
``textContent = "..."``, ``new Option("...")``...). A word written there instead of a catalogue
key stays in one language whatever the reader chose; a key missing from one catalogue shows
the key itself. Emoji are refused everywhere a page takes text from: a tablet without an emoji
font shows them as empty boxes (pages draw icons as SVG, common.js ``icon()``).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from classroom_hub.web import catalogue as i18n

STATIC = Path(__file__).resolve().parents[3] / "classroom_hub" / "web" / "static"
PAGES = sorted(STATIC.glob("*.html"))
SCRIPTS = sorted(STATIC.glob("*.js"))
# Words that are the same in every language: names of file formats and each language's own name.
SAME_IN_EVERY_LANGUAGE = {"CSV", ".ics", "Tiếng Việt", "English"}
WORD = re.compile(r"[^\W\d_]{2,}")
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f]")
# A string of a script that becomes text on the page.
SHOWN = [
    re.compile(p)
    for p in (
        r'\btext:\s*"([^"]*)"', r"\btext:\s*'([^']*)'", r"\btext:\s*`([^`]*)`",
        r'\.textContent\s*=\s*"([^"]*)"', r"\.textContent\s*=\s*`([^`]*)`",
        r'\bel\(\s*"[a-z0-9]+"\s*,\s*"([^"]*)"', r'\bel\(\s*"[a-z0-9]+"\s*,\s*`([^`]*)`',
        r'\b(?:title|placeholder|alt|"aria-label")\s*:\s*"([^"]*)"', r'\.(?:title|placeholder)\s*=\s*"([^"]*)"',
        r'\b(?:alert|confirm|prompt|showMessage|toast)\(\s*"([^"]*)"', r'new Option\(\s*"([^"]*)"',
    )
]  # fmt: skip
# A catalogue key a script asks for: t("lab.title"), I18N.t("state." + x) (a prefix), t(`kind.${k}`).
KEY_CALL = re.compile(r"""\bt\(\s*(?:"([^"]+)"\s*(\+)?|`([^`$]+)\$\{)""")


def _code(script: str) -> str:
    """The script without its comments (a comment may quote a string as an example)."""
    return re.sub(r"(?m)^\s*//.*$|(?<=[;{}),])\s*//.*$", "", script)


def _without_placeholders(text: str) -> str:
    """A template's own text: every ``${...}`` (braces inside it counted) left out."""
    out, depth, i = [], 0, 0
    while i < len(text):
        if depth == 0 and text.startswith("${", i):
            depth, i = 1, i + 2
            continue
        if depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
        else:
            out.append(text[i])
        i += 1
    return "".join(out)


def _words_written_in_scripts() -> list[str]:
    found = []
    for script in SCRIPTS:
        code = _code(script.read_text(encoding="utf-8"))
        for pattern in SHOWN:
            for match in pattern.finditer(code):
                text = _without_placeholders(match.group(1)).strip(" :·-–")
                if WORD.search(text) and text not in SAME_IN_EVERY_LANGUAGE:
                    found.append(f"{script.name}:{code[: match.start()].count(chr(10)) + 1}: {match.group(1)!r}")
    return found


class _PageText(HTMLParser):
    """The text of a page a reader sees, and the elements it sits in."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[tuple[str, dict[str, str | None], str]] = []  # (tag, attributes, text)
        self.attributes: list[tuple[str, str, str]] = []  # (tag, attribute, text) of visible attributes
        self.title_key: str | None = None
        self.icon_link = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name in ("title", "alt", "placeholder", "aria-label"):
            if attributes.get(name):
                self.attributes.append((tag, name, str(attributes[name])))
        if tag == "title":
            self.title_key = attributes.get("data-i18n")
        if tag == "link" and attributes.get("rel") == "icon" and attributes.get("href"):
            self.icon_link = True
        if tag not in ("meta", "link", "input", "br", "img", "hr", "source", "track", "col", "wbr"):
            self.open.append((tag, attributes))

    def handle_endtag(self, tag: str) -> None:
        while self.open and self.open.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        if any(tag in ("script", "style") for tag, _ in self.open) or not data.strip():
            return
        tag, attributes = self.open[-1] if self.open else ("", {})
        self.texts.append((tag, attributes, data.strip()))


def _read(page: Path) -> _PageText:
    parsed = _PageText()
    parsed.feed(page.read_text(encoding="utf-8"))
    return parsed


def test_the_pages_write_no_words_of_their_own() -> None:
    vi = i18n.catalogue("vi")
    written = []
    for page in PAGES:
        parsed = _read(page)
        for tag, attributes, text in parsed.texts:
            key = attributes.get("data-i18n")
            # A catalogued element may hold its Vietnamese words until the catalogue arrives (a tab title).
            if key is not None and text == vi.get(key):
                continue
            if WORD.search(text) and text not in SAME_IN_EVERY_LANGUAGE:
                written.append(f"{page.name}: <{tag}> {text!r}")
        shown = [(tag, name, text) for tag, name, text in parsed.attributes if WORD.search(text)]
        written += [f"{page.name}: <{tag} {name}> {text!r}" for tag, name, text in shown]
    assert written == [], "words written in the page instead of a data-i18n key"
    assert _words_written_in_scripts() == [], "words written in a script instead of I18N.t(key)"


def test_every_key_a_script_asks_for_is_in_both_catalogues() -> None:
    catalogues = {lang: i18n.catalogue(lang) for lang in ("vi", "en")}
    missing = []
    for script in SCRIPTS:
        code = _code(script.read_text(encoding="utf-8"))
        for match in KEY_CALL.finditer(code):
            key, prefix = match.group(1) or match.group(3), bool(match.group(2) or match.group(3))
            if key is None or not re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z0-9_-]*)+", key):
                continue  # not a catalogue key (a path, a computed name)
            for lang, strings in catalogues.items():
                if not (any(k.startswith(key) for k in strings) if prefix else key in strings):
                    missing.append(f"{script.name}: {key}{'…' if prefix else ''} ({lang})")
    assert missing == []


def test_every_page_has_a_translated_tab_title_and_the_hubs_icon() -> None:
    vi, en = i18n.catalogue("vi"), i18n.catalogue("en")
    for page in PAGES:
        parsed = _read(page)
        assert parsed.title_key in vi and parsed.title_key in en, f"{page.name}: <title data-i18n> missing"
        assert parsed.icon_link, f"{page.name}: no <link rel=icon>"


def test_no_emoji_in_pages_scripts_or_catalogues() -> None:
    found = [f"{f.name}: {m.group()!r}" for f in [*PAGES, *SCRIPTS]
             for m in EMOJI.finditer(f.read_text(encoding="utf-8"))]  # fmt: skip
    for lang in ("vi", "en"):
        found += [f"{lang} {key}: {text!r}" for key, text in i18n.catalogue(lang).items() if EMOJI.search(text)]
    assert found == [], "emoji show as empty boxes without an emoji font: draw an icon (common.js icon())"


def test_the_scan_finds_what_it_is_for() -> None:
    """The scanners themselves: a written word, an emoji and a missing key are each caught."""
    parsed = _PageText()
    parsed.feed('<title>Studio</title><p data-i18n="x.y"></p><button>Save</button><img alt="Logo">')
    assert [text for _, _, text in parsed.texts] == ["Studio", "Save"] and parsed.title_key is None
    assert parsed.attributes == [("img", "alt", "Logo")]
    code = _code('el("td", "Online"); el("td", I18N.t("a.b")); // el("td", "comment")\nx.textContent = `${n} items`;')
    assert sorted(m.group(1) for p in SHOWN for m in p.finditer(code)) == ["${n} items", "Online"]
    assert _without_placeholders('${n} items') == " items"
    assert _without_placeholders('${c.title} (${t("x.y", { n: c.n })})') == " ()"
    assert EMOJI.search("✋ Giơ tay") and EMOJI.search("👀") and not EMOJI.search("Giơ tay · 5 %")
    keys = [m.group(1) or m.group(3) for m in KEY_CALL.finditer('t("a.b"); I18N.t("state." + s); t(`kind.${k}`)')]
    assert keys == ["a.b", "state.", "kind."]


async def test_the_favicon_is_served_to_anyone(tmp_path: Path) -> None:
    import aiohttp

    from tests.conftest import room_settings, run_hub

    async with run_hub(room_settings(tmp_path, None)) as hub, aiohttp.ClientSession() as http:
        async with http.get(f"{hub.url}/favicon.ico") as icon:
            body = await icon.read()
            assert (icon.status, icon.content_type) == (200, "image/vnd.microsoft.icon")
            assert body[:4] == b"\x00\x00\x01\x00" and body[22:26] == b"\x89PNG"  # an icon holding a PNG
        async with http.get(f"{hub.url}/favicon.svg") as svg:
            assert (svg.status, svg.content_type) == (200, "image/svg+xml")
            assert (await svg.text()).startswith("<svg")


async def test_a_page_in_chromium_has_its_title_in_the_readers_language_and_svg_icons(
    tmp_path: Path, browser: Any
) -> None:
    from tests.conftest import room_settings, run_hub, wait_js

    async with run_hub(room_settings(tmp_path, None)) as hub:
        page = await browser.new_page()
        try:
            await page.goto(f"{hub.url}/join")
            await wait_js(page, "document.title === 'Vào lớp'")
            # The lock screen's icon is drawn (an SVG path), not an emoji.
            await wait_js(page, "document.querySelector('#lock svg.icon-eye path') !== null")
            await page.evaluate("localStorage.setItem('lang', 'en')")
            await page.reload()
            await wait_js(page, "document.title === 'Join the class'")
        finally:
            await page.close()

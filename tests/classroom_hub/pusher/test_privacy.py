"""Pseudonyms for destinations outside the province, masks for logs."""

from __future__ import annotations

import json

import pytest

from classroom_hub.pusher.privacy import Pseudonymiser, mask_personal
from tests.classroom_hub.pusher.conftest import statement

KEY = b"khoa-bi-mat-cua-so-giao-duc-2026"


def test_every_agent_becomes_the_same_keyed_pseudonym_everywhere() -> None:
    s = statement(1, student="hs-7a-01")
    s["actor"]["name"] = "Ngô Anh Bình"
    s["context"]["instructor"] = {"objectType": "Agent", "name": "Trần Thị Minh Huệ", "mbox": "mailto:gv-01@x.vn"}
    s["authority"] = {"objectType": "Agent", "mbox": "mailto:hub@x.vn"}
    out = Pseudonymiser(KEY, "urn:classroom-hub:pseudonym").statement(s)
    text = json.dumps(out, ensure_ascii=False)
    for personal in ("hs-7a-01", "Ngô Anh Bình", "Trần Thị Minh Huệ", "gv-01@x.vn"):
        assert personal not in text
    again = Pseudonymiser(KEY, "urn:classroom-hub:pseudonym").statement(statement(9, student="hs-7a-01"))
    assert out["actor"] == again["actor"]  # the same student, the same pseudonym: analytics still work
    other = Pseudonymiser(b"another-province-key-2026", "urn:classroom-hub:pseudonym").statement(s)
    assert other["actor"] != out["actor"]  # without the key, no link back
    assert out["id"] == s["id"] and out["object"] == s["object"] and out["result"] == s["result"]


def test_a_group_and_an_agent_as_object_are_pseudonymised_an_activity_is_not() -> None:
    p = Pseudonymiser(KEY, "urn:x")
    group = {"objectType": "Group", "member": [{"account": {"homePage": "h", "name": "hs-1"}, "name": "A"}]}
    out = p.statement(statement(1, actor=group, object={"objectType": "Agent", "mbox": "mailto:a@b.vn"}))
    assert out["actor"]["member"][0]["account"]["homePage"] == "urn:x" and "name" not in out["actor"]["member"][0]
    assert out["object"]["account"]["homePage"] == "urn:x"
    assert p.statement(statement(2))["object"]["objectType"] == "Activity"


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        Pseudonymiser(b"short", "urn:x")


def test_logs_never_show_a_citizen_id_or_an_address() -> None:
    text = mask_personal("user 036213900004 (hs@thcs.example, mailto:gv-01@thcs.example) refused; row 123456")
    assert "036213900004" not in text and "036*******04" in text
    assert "hs@thcs.example" not in text and "gv-01" not in text
    assert "123456" in text  # short numbers are not citizen IDs

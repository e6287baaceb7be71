"""Strategies shared by the fuzz tests: hostile values, JSON texts and mutations of valid input.

Random bytes alone rarely get past a parser's first check, so most cases start from a
*valid* message and change one thing: a field set to a hostile value, removed, renamed,
nested deeper, or the encoded bytes cut and flipped.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from hypothesis import strategies as st

# Numbers that break code assuming "a number is a small finite float".
NASTY_FLOATS = [math.nan, math.inf, -math.inf, -0.0, 1e308, -1e308, 5e-324, 1.7976931348623157e308, 2.0**53 + 1]
NASTY_INTS = [0, -1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63, -(2**63) - 1, 2**64, 10**100, -(10**300), 10**400]

# Text a Vietnamese classroom, a spreadsheet or an attacker may send.
NASTY_TEXTS = [
    "",
    " ",
    "\x00",
    "\ufeff",
    "\ud800",  # a lone surrogate: not Unicode text, only reachable through a JSON escape
    "\udfff\ud800",
    "\U0001f600",
    "Nguyễn Văn Ánh",
    "Nguye\u0302\u0303n",  # decomposed accents (macOS)
    "\u202egnp.exe",
    "=cmd|' /C calc'!A0",
    "+1",
    "-1",
    "@SUM(1)",
    "../../etc/passwd",
    "/etc/passwd",
    "C:\\Windows",
    "a/./b",
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
    "'; DROP TABLE x; --",
    "%s%n%x",
    "{0}{1}{}",
    "\r\n",
    'a,b;c"d',
    "١٢٣",  # Arabic-Indic digits: str.isdigit() says yes
    "²",  # so does a superscript two, which int() refuses
    "NaN",
    "Infinity",
    "true",
    "null",
    "9" * 5000,
    "x" * 70_000,
]

keys = st.one_of(
    st.sampled_from(["t", "id", "ts", "key", "value", "state", "type", "data", "readings", "ok", "rev", "__proto__"]),
    st.text(max_size=12),
)


SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(NASTY_INTS),
    st.floats(),
    st.sampled_from(NASTY_FLOATS),
    st.text(max_size=40),
    st.sampled_from(NASTY_TEXTS),
)
NASTY_SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(NASTY_FLOATS), st.sampled_from(NASTY_INTS), st.sampled_from(NASTY_TEXTS)
)
# Numbers JSON has no way to write, or that no double holds.
NOT_JSON_NUMBERS = [math.nan, math.inf, -math.inf, 10**400, -(10**400)]
# Where a number is expected: ordinary ones and hostile ones.
NUMBERS: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(NOT_JSON_NUMBERS),
    st.floats(-1000, 1000),
    st.integers(-1000, 1000),
    st.sampled_from(NASTY_FLOATS),
    st.sampled_from(NASTY_INTS),
)


def json_values(max_leaves: int = 20) -> st.SearchStrategy[Any]:
    """Any JSON-like value, hostile numbers and strings included."""
    return st.recursive(
        SCALARS,
        lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=5)),
        max_leaves=max_leaves,
    )


JSON_VALUES = json_values()


def encode(draw: st.DrawFn, value: Any) -> bytes:
    """``value`` as JSON text: escaped or raw UTF-8, NaN/Infinity tokens included, lone
    surrogates as ``\\ud800`` escapes or as the bytes no UTF-8 decoder accepts."""
    if draw(st.booleans()):
        return json.dumps(value, ensure_ascii=True).encode("ascii")
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass")


def _nested(opener: str, depth: int) -> bytes:
    if opener == "[":
        return ("[" * depth + "]" * depth).encode()
    return ('{"a":' * depth + "1" + "}" * depth).encode()


# Arrays or objects nested far deeper than any parser's recursion limit.
DEPTHS = [100, 199, 200, 201, 255, 1000, 100_000]
DEEP_NESTING = st.builds(_nested, st.sampled_from(["[", "{"]), st.sampled_from(DEPTHS))
# Number tokens beyond double range, with exponents and digits no parser expects.
BIG_NUMBERS = st.sampled_from(
    [b"1" + b"0" * 400, b"-" + b"9" * 4300, b"1e400", b"-1e400", b"1e-400", b"0." + b"0" * 1000 + b"1", b"1E+309"]
)


def _slots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) inside ``value``, however deep."""
    out: list[tuple[Any, Any]] = []
    stack = [value]
    while stack:
        item = stack.pop()
        children = item.items() if isinstance(item, dict) else enumerate(item) if isinstance(item, list) else ()
        for key, child in children:
            out.append((item, key))
            stack.append(child)
    return out


def mutate(draw: st.DrawFn, valid: dict[str, Any], values: st.SearchStrategy[Any] = JSON_VALUES) -> Any:
    """A valid message with one to three things changed."""
    message: Any = copy.deepcopy(valid)
    for _ in range(draw(st.integers(1, 3))):
        if not isinstance(message, dict):
            break
        action = draw(st.sampled_from(["set", "set", "set", "poison", "poison", "drop", "add", "nest", "whole"]))
        fields = sorted(message)
        if action == "poison" and (slots := _slots(message)):
            container, key = draw(st.sampled_from(slots))  # a leaf deep inside gets a hostile value
            container[key] = draw(NASTY_SCALARS)
        elif action == "set" and fields:
            message[draw(st.sampled_from(fields))] = draw(values)
        elif action == "drop" and fields:
            del message[draw(st.sampled_from(fields))]
        elif action == "add":
            message[draw(keys)] = draw(st.one_of(NASTY_SCALARS, values))
        elif action == "nest" and fields:
            field = draw(st.sampled_from(fields))
            message[field] = draw(st.sampled_from([[message[field]], {"value": message[field]}]))
        elif action == "whole":
            message = draw(st.sampled_from([[message], draw(values)]))
    return message


def damage(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with bytes flipped, cut, inserted or repeated."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(out)))
        action = draw(st.sampled_from(["flip", "cut", "insert", "repeat"]))
        if action == "flip" and out:
            index = min(at, len(out) - 1)
            out[index] ^= 1 << draw(st.integers(0, 7))
        elif action == "cut":
            del out[at : at + draw(st.integers(1, 16))]
        elif action == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            out[at:at] = out[at : at + draw(st.integers(1, 8))] * draw(st.integers(2, 50))
    return bytes(out)


CLASSICS = st.sampled_from([b"", b"null", b"[]", b"{}", b"\xef\xbb\xbf{}", b'{"a":1,"a":2}', b"NaN", b"-Infinity"])


def json_payload(draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]]) -> bytes:
    """Bytes for a JSON parser: a third valid messages, a third mutated ones, then the classics."""
    kind = draw(st.integers(0, 11))
    if kind < 4:
        return encode(draw, draw(valid))
    if kind < 8:
        return encode(draw, mutate(draw, draw(valid)))
    if kind == 8:
        return damage(draw, encode(draw, draw(valid)))
    if kind == 9:
        return encode(draw, draw(JSON_VALUES))
    return draw(st.one_of(DEEP_NESTING, BIG_NUMBERS, CLASSICS, st.binary(max_size=200)))


@st.composite
def json_payloads(draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]]) -> bytes:
    return json_payload(draw, valid)

"""The messages in docs/protocol.md are the messages of the code, byte for byte."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from classroom_hub.lessons.protocol import SERVER_MESSAGE, Answer, Hello, ProtocolError, read

DOC = Path(__file__).resolve().parents[3] / "docs" / "protocol.md"


def wire_lines() -> list[str]:
    blocks = re.findall(r"```wire\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def lines(kind: str) -> list[Any]:
    return [pytest.param(line, id=line[:60]) for line in wire_lines() if re.match(kind, line)]


def test_the_document_has_examples_of_every_kind() -> None:
    found = {re.match(r"(\w+)[>!]", line).group(0) for line in wire_lines()}  # type: ignore[union-attr]
    assert found >= {"student>", "teacher>", "hub>", "student!", "teacher!", "display!"}


@pytest.mark.parametrize("line", lines(r"(student|teacher|display)>"))
def test_client_examples_are_accepted(line: str) -> None:
    role, text = line.split("> ", 1)
    message = read(role, text)  # type: ignore[arg-type]
    assert message.t == text.split('"t":"', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize("line", lines(r"hub>"))
def test_hub_examples_are_valid_server_messages(line: str) -> None:
    SERVER_MESSAGE.validate_json(line.split("> ", 1)[1])


@pytest.mark.parametrize("line", lines(r"(student|teacher|display)!"))
def test_refused_examples_get_the_documented_code(line: str) -> None:
    role, rest = line.split("! ", 1)
    text, code = rest.rsplit(" => ", 1)
    with pytest.raises(ProtocolError) as refused:
        read(role, text)  # type: ignore[arg-type]
    assert refused.value.code == code


def test_fields_are_read_as_documented() -> None:
    hello = read("student", '{"t":"hello","token":"Xk3v9QvL2m8pTq0rS1uW4yZ6","run":null,"rev":null}')
    assert isinstance(hello, Hello) and hello.rev is None
    answer = read("student", '{"t":"answer","id":"Zt71kPq0Lmn3","step":"cau-4-nitrat","text":"nitrat"}')
    assert isinstance(answer, Answer) and answer.text == "nitrat" and answer.choice is None
    with pytest.raises(ProtocolError, match="exactly one of"):
        read("student", '{"t":"answer","id":"Zt71kPq0Lmn3","step":"cau-4","choice":["a"],"text":"a"}')
    with pytest.raises(ProtocolError, match=r"up: Input should be a valid boolean"):
        read("student", '{"t":"hand","up":"yes"}')
    bad = "x" * (64 * 1024 + 1)
    with pytest.raises(ProtocolError) as too_large:
        read("student", bad)
    assert too_large.value.code == "too_large"

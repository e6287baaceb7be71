"""Trigger conditions of experiment runs, as a teacher types them: ``pH < 6.5``, ``do >= 7``.

One sensor, one comparison, one number (a decimal comma is fine: ``pH < 6,5``). The sensor
is named by its key (``ph``, ``water_temp``, ``do``...) in any case.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from stem_labs.errors import ConditionError
from stem_labs.sensors import SENSORS

Comparison = Literal["<", "<=", ">", ">="]
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip
_PATTERN = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_ ]*?)\s*(<=|>=|<|>)\s*(-?\d+(?:[.,]\d+)?)\s*$")


@dataclass(frozen=True)
class Condition:
    key: str
    op: Comparison
    value: float

    def holds(self, readings: Mapping[str, float]) -> bool:
        current = readings.get(self.key)
        return current is not None and _OPERATORS[self.op](current, self.value)

    def __str__(self) -> str:
        return f"{self.key} {self.op} {self.value:g}"


def parse_condition(text: str) -> Condition:
    match = _PATTERN.match(text)
    if match is None:
        raise ConditionError(f"condition {text!r}: write it like 'ph < 6.5' (a sensor, <, <=, > or >=, a number)")
    key = match.group(1).strip().lower().replace(" ", "_")
    if key not in SENSORS:
        known = ", ".join(sorted(SENSORS))
        raise ConditionError(f"condition {text!r}: no sensor {key!r} (known: {known})")
    op: Comparison = match.group(2)  # type: ignore[assignment]
    return Condition(key, op, float(match.group(3).replace(",", ".")))

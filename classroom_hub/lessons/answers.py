"""Marking a student's answer to a quiz step.

Choice questions are marked by choice id, all or nothing (a multiple-choice answer
scores only when it selects exactly the correct set). Short answers match any of the
``accepted`` texts after tidying (spaces, optionally case and Vietnamese diacritics),
or the ``numeric`` value within its tolerance: ``20``, ``20,0``, ``20 m/s`` all match
20 m/s, since Vietnamese writes the decimal separator as a comma.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

from classroom_hub.lessons.manifest import NumericAnswer, QuizStep

_NUMBER = re.compile(r"([+\-−]?\d+(?:[.,]\d+)?)\s*(.*)")


def strip_diacritics(text: str) -> str:
    """``"Nitrát Đồng"`` -> ``"Nitrat Dong"``; đ/Đ are letters of their own in Unicode, not d + a mark."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


def tidy(text: str, *, ignore_case: bool, ignore_diacritics: bool) -> str:
    """The form two short answers are compared in: NFC, single spaces, optionally folded."""
    text = " ".join(unicodedata.normalize("NFC", text).split())
    if ignore_diacritics:
        text = strip_diacritics(text)
    if ignore_case:
        text = text.casefold()
    return text


def read_number(text: str, numeric: NumericAnswer) -> float | None:
    """The number in ``text`` if it is a number optionally followed by one of the allowed units."""
    match = _NUMBER.fullmatch(text.strip())
    if match is None:
        return None
    number, unit = match.groups()
    if unit:
        allowed = {u.replace(" ", "").casefold() for u in numeric.units}
        if unit.replace(" ", "").casefold() not in allowed:
            return None
    value = float(number.replace("−", "-").replace(",", "."))
    return value if math.isfinite(value) else None


def is_correct(quiz: QuizStep, answer: str | Sequence[str]) -> bool:
    """Whether ``answer`` (a choice id, a list of choice ids, or a typed text) is right."""
    if quiz.type == "short_answer":
        if not isinstance(answer, str):
            return False
        wanted = tidy(answer, ignore_case=quiz.ignore_case, ignore_diacritics=quiz.ignore_diacritics)
        if wanted and any(
            wanted == tidy(a, ignore_case=quiz.ignore_case, ignore_diacritics=quiz.ignore_diacritics)
            for a in quiz.accepted
        ):
            return True
        if quiz.numeric is not None:
            value = read_number(answer, quiz.numeric)
            if value is not None:
                # A hair of slack so that 0.1 + 0.2 style float noise never fails a right answer.
                slack = quiz.numeric.tolerance + 1e-9 * max(1.0, abs(quiz.numeric.value))
                return abs(value - quiz.numeric.value) <= slack
        return False
    chosen = [answer] if isinstance(answer, str) else list(answer)
    if quiz.type == "single_choice":
        return chosen == quiz.correct
    return len(chosen) == len(set(chosen)) and set(chosen) == set(quiz.correct)


def points_for(quiz: QuizStep, answer: str | Sequence[str]) -> int:
    """Points earned: all of the question's points when right, none otherwise."""
    return quiz.points if is_correct(quiz, answer) else 0

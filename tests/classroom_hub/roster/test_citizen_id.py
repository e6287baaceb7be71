"""The citizen ID (CCCD) format rule: good numbers pass with what they encode, bad ones say why."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import BaseModel, ValidationError

from classroom_hub.roster.citizen_id import (
    PROVINCE_CODES,
    CitizenId,
    CitizenIdError,
    mask_citizen_id,
    read_citizen_id,
)

TODAY = date(2026, 3, 1)


@pytest.mark.parametrize(
    ("text", "province", "sex", "birth_year"),
    [
        ("001085012345", "Hà Nội", "male", 1985),
        ("079190000001", "Hồ Chí Minh", "female", 1990),
        ("036213900004", "Nam Định", "male", 2013),
        ("096305123456", "Cà Mau", "female", 2005),
        ("048099999999", "Đà Nẵng", "male", 1999),
        ("031200000000", "Hải Phòng", "male", 2000),
        ("087084000999", "Đồng Tháp", "male", 1984),  # the worked example of TT 07/2016 commentaries
        (" 001085012345 ", "Hà Nội", "male", 1985),  # surrounding spaces from a spreadsheet cell
    ],
)
def test_good_ids_give_province_sex_and_birth_year(text: str, province: str, sex: str, birth_year: int) -> None:
    facts = read_citizen_id(text, today=TODAY)
    assert (facts.province, facts.sex, facts.birth_year) == (province, sex, birth_year)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("00108501234", "has 11 digits"),  # Excel dropped a leading zero
        ("1085012345", "Excel drops leading zeros"),
        ("0010850123456", "has 13 digits"),
        ("", "digits"),
        ("001 085 012 345", "no letters, spaces or dots"),
        ("00108501234a", "no letters"),
        ("1.00109E+11", "Excel reformatted"),
        ("003085012345", "003, which is not a province code"),
        ("000085012345", "000, which is not a province code"),
        ("097085012345", "097, which is not a province code"),
        ("099085012345", "099, which is not a province code"),
        ("001427012345", "birth year 2127, which is in the future"),
        ("001930012345", "birth year 2330"),
        ("001227012345", "birth year 2027"),  # next year, with today fixed in 2026
        ("００１０８５０１２３４５", "digits"),  # full-width digits from a Vietnamese IME
    ],
)
def test_bad_ids_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(CitizenIdError, match=reason.replace(".", r"\.").replace("(", r"\(")):
        read_citizen_id(text, today=TODAY)


def test_the_63_province_codes_of_the_circular() -> None:
    assert len(PROVINCE_CODES) == 63
    assert min(PROVINCE_CODES) == "001" and max(PROVINCE_CODES) == "096"
    # codes left unused between provinces
    assert not {"003", "005", "007", "009", "013", "016", "018", "021", "023", "028", "029"} & set(PROVINCE_CODES)


def test_error_messages_never_repeat_the_number() -> None:
    for bad in ("003085012345", "00108501234", "001427012345"):
        with pytest.raises(CitizenIdError) as caught:
            read_citizen_id(bad)
        assert bad not in str(caught.value)


def test_mask_keeps_province_and_last_two_digits() -> None:
    assert mask_citizen_id("036213900004") == "036*******04"
    assert mask_citizen_id("123") == "***"


def test_pydantic_field_uses_the_same_rule() -> None:
    class Card(BaseModel):
        number: CitizenId

    assert Card(number=" 036213900004").number == "036213900004"
    with pytest.raises(ValidationError, match="not a province code"):
        Card(number="003085012345")

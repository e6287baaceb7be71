"""The Vietnamese 12-digit citizen ID (số định danh cá nhân, printed on the CCCD card).

Structure, from Nghị định 137/2015/NĐ-CP art. 13 and Thông tư 07/2016/TT-BCA art. 7:

    PPP S YY RRRRRR
    PPP     province (or country) where the birth was registered - Phụ lục I of TT 07/2016
    S       century and sex: 0/1 = 1900s male/female, 2/3 = 2000s, 4/5 = 2100s, 6/7 = 2200s, 8/9 = 2300s
    YY      last two digits of the birth year
    RRRRRR  random

The province table below is Phụ lục I of Thông tư 07/2016/TT-BCA (63 codes, 001-096);
copies: https://moinhat123.blogspot.com/2021/03/ma-so-can-cuoc-cong-dan-quang-binh.html and
https://hrnk.vn/blog/y-nghia-12-so-tren-the-can-cuoc-cong-dan/71.html. Numbers already
issued keep these codes after the 2025 merger of provinces.

There is no check digit: a well-formed number can still belong to nobody. The format is
all the hub can verify; the central database decides whether the person exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

PROVINCE_CODES: dict[str, str] = {
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn", "008": "Tuyên Quang",
    "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu", "014": "Sơn La", "015": "Yên Bái",
    "017": "Hòa Bình", "019": "Thái Nguyên", "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang",
    "025": "Phú Thọ", "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
    "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định", "037": "Ninh Bình",
    "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh", "044": "Quảng Bình", "045": "Quảng Trị",
    "046": "Thừa Thiên Huế", "048": "Đà Nẵng", "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định",
    "054": "Phú Yên", "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
    "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng", "070": "Bình Phước",
    "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai", "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh", "080": "Long An", "082": "Tiền Giang", "083": "Bến Tre", "084": "Trà Vinh",
    "086": "Vĩnh Long", "087": "Đồng Tháp", "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ",
    "093": "Hậu Giang", "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}  # fmt: skip

_DIGITS = re.compile(r"^[0-9]+$")
# What Excel makes of a 12-digit number typed into a General cell: 1.23457E+11
_EXCEL_NUMBER = re.compile(r"^[0-9](?:[.,][0-9]+)?[eE]\+?[0-9]+$")

Sex = Literal["male", "female"]


@dataclass(frozen=True, slots=True)
class CitizenIdFacts:
    """What the number itself says about its holder."""

    province_code: str
    province: str
    sex: Sex
    birth_year: int


class CitizenIdError(ValueError):
    """The text is not a well-formed citizen ID; the message says which part is wrong."""


def read_citizen_id(text: str, *, today: date | None = None) -> CitizenIdFacts:
    """Check the format of ``text`` and return what it encodes; raise CitizenIdError naming the fault.

    Messages never repeat the number itself: import reports and logs must not carry it.
    """
    value = text.strip()
    if _EXCEL_NUMBER.match(value):
        raise CitizenIdError(
            "looks like a number Excel reformatted (1.2E+11); format the column as Text and retype it"
        )
    if not _DIGITS.match(value):
        raise CitizenIdError("must be 12 digits, with no letters, spaces or dots")
    if len(value) != 12:
        hint = ""
        if len(value) in (10, 11):
            hint = "; Excel drops leading zeros: format the column as Text"
        raise CitizenIdError(f"has {len(value)} digits, a citizen ID has exactly 12{hint}")
    province_code = value[:3]
    province = PROVINCE_CODES.get(province_code)
    if province is None:
        raise CitizenIdError(
            f"starts with {province_code}, which is not a province code (Thông tư 07/2016/TT-BCA, Phụ lục I)"
        )
    century_sex = int(value[3])
    birth_year = 1900 + (century_sex // 2) * 100 + int(value[4:6])
    this_year = (today or date.today()).year
    if birth_year > this_year:
        raise CitizenIdError(
            f"digits 4-6 ({value[3:6]}) give birth year {birth_year}, which is in the future"
        )
    return CitizenIdFacts(
        province_code=province_code,
        province=province,
        sex="male" if century_sex % 2 == 0 else "female",
        birth_year=birth_year,
    )


def mask_citizen_id(value: str) -> str:
    """The form for logs and screens: province and last two digits only (``036*******07``)."""
    if len(value) < 6:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 5) + value[-2:]


def _checked(value: str) -> str:
    try:
        read_citizen_id(value)
    except CitizenIdError as err:
        # A custom error keeps the message free of pydantic's "Value error, " prefix.
        raise PydanticCustomError("citizen_id", str(err)) from err
    return value.strip()


CitizenId = Annotated[str, AfterValidator(_checked)]
"""A ``str`` field that only accepts a well-formed citizen ID (surrounding spaces removed)."""

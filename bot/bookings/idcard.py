"""The 18-digit resident ID number (GB 11643-1999): check it, read birth date and sex, mask it, hash it.

The number is personal data: replies and logs show only `mask(number)`, storage keeps only
`keyed_hash(number, key)` next to the masked form.
"""

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

# Weights and check characters of ISO 7064 MOD 11-2, as GB 11643-1999 prescribes.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"

# Province-level codes that begin a valid number (81/82/83: residence permits of Hong Kong, Macao, Taiwan).
_PROVINCES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "81", "82", "83",
}  # fmt: skip
_SHAPE = re.compile(r"\d{17}[\dX]")


class InvalidIdNumber(ValueError):
    """The number is not a valid resident ID number; str(error) says why, in Chinese, for the citizen."""


@dataclass(frozen=True)
class IdInfo:
    birth: date
    sex: str  # "男" | "女"


def canonical(id_number: str) -> str:
    """The form numbers are compared, hashed and stored in: half-width, no spaces, upper-case X."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", id_number or "")).upper()


def check_character(first17: str) -> str:
    """The 18th character that GB 11643-1999 requires after these 17 digits."""
    return _CHECK_CHARACTERS[sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True)) % 11]


def parse(id_number: str) -> IdInfo:
    """Birth date and sex from a valid number; InvalidIdNumber with the exact reason otherwise."""
    number = canonical(id_number)
    if not number:
        raise InvalidIdNumber("身份证号没有填写")
    if len(number) == 15:
        raise InvalidIdNumber("身份证号是15位的旧号码，请填写身份证上的18位号码")
    if len(number) != 18:
        raise InvalidIdNumber(f"身份证号应为18位，现在是{len(number)}位")
    if not _SHAPE.fullmatch(number):
        raise InvalidIdNumber("身份证号前17位应全是数字，最后一位是数字或X")
    if number[:2] not in _PROVINCES:
        raise InvalidIdNumber("身份证号前两位的地区码不对，请核对")
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        birth = None
    if birth is None or birth.year < 1900:
        raise InvalidIdNumber("身份证号第7到14位的出生日期不对，请核对")
    if check_character(number[:17]) != number[17]:
        raise InvalidIdNumber("身份证号校验位不对，请核对最后一位")
    return IdInfo(birth=birth, sex="男" if int(number[16]) % 2 else "女")


def mask(id_number: str) -> str:
    """4301**********123X: enough for the citizen to recognise their number, too little to reuse it."""
    number = canonical(id_number)
    if len(number) < 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def keyed_hash(id_number: str, key: bytes) -> str:
    """HMAC-SHA256 (hex) of the canonical number: lets storage spot the same person without keeping the number."""
    return hmac.new(key, canonical(id_number).encode("ascii", "replace"), hashlib.sha256).hexdigest()

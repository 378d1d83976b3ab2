"""The 18-digit resident ID number (GB 11643-1999): check it, read birth date and sex, mask it, hash it.

The number is personal data: replies, logs and staff screens show only `mask(number)` (its last
4 characters), storage keeps only `keyed_hash(number, key)` next to the masked form.

Digits are ASCII or full-width only: regular expressions' digit class and NFKC also accept Arabic-Indic, Devanagari,
superscript or circled digits, which let one person book twice (a different string) and two
people share one hash; such numbers are refused with a message saying which digits to use.
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
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_FULL_WIDTH_DIGITS = "０１２３４５６７８９"
MASK_KEEPS = 4  # characters shown at the end; the rest are stars


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
    if _foreign_digits(id_number or ""):
        raise InvalidIdNumber("身份证号请用数字0–9（半角或全角均可）和X填写，不要用其他文字的数字")
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


def is_valid(id_number: str) -> bool:
    try:
        parse(id_number)
    except InvalidIdNumber:
        return False
    return True


def mask(id_number: str) -> str:
    """**************123X: enough for the citizen to recognise their number; with the keyed hash,
    the last 4 alone leave far too many candidates to recover the number without the key."""
    number = canonical(id_number)
    if len(number) <= MASK_KEEPS * 2:
        return "*" * len(number)
    return "*" * (len(number) - MASK_KEEPS) + number[-MASK_KEEPS:]


def keyed_hash(id_number: str, key: bytes) -> str:
    """HMAC-SHA256 (hex) of the canonical number: lets storage spot the same person without keeping the number."""
    return hmac.new(key, canonical(id_number).encode(), hashlib.sha256).hexdigest()


def _foreign_digits(text: str) -> bool:
    """Whether `text` has a digit other than ASCII 0–9 or full-width ０–９ (١, ४, ², ①, …)."""
    return any(ch.isnumeric() and not ("0" <= ch <= "9" or ch in _FULL_WIDTH_DIGITS) for ch in text)

"""Contact phone numbers: mainland mobiles and landlines with area code, stored as digits only."""
from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberType

from bot.errors import InvalidField
from bot.intake._text import halfwidth

FIELD = "phone"
MSG_EMPTY = "请您留一个联系电话：手机号是11位数字，例如 13812345678；座机请带上区号，例如 010-12345678。"
MSG_LANDLINE_NO_AREA = "座机号码请您加上区号，例如 0571-88886666。"
MSG_INVALID = (
    "这个号码好像不是有效的电话号码。手机号是以1开头的11位数字，例如 13812345678；"
    "座机请带上区号，例如 010-12345678。请您再核对一下。"
)


def _msg_mobile_length(n: int) -> str:
    return f"手机号码应为11位数字，您输入的是{n}位，例如 13812345678。请您再核对一下。"


_ACCEPTED_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
_SEPARATORS = re.compile(r"[\s\-‐‑–—－_.()（）]+")
_COUNTRY_PREFIX = re.compile(r"^(?:\+|00)?86(?=[0-9]{9,12}$)")

# A run of digits that may contain single separators (spaces, hyphens, brackets around an area code).
_RUN = re.compile(r"(?<![0-9A-Za-z])(?:\+\s?86[\s\-]?|0086[\s\-]?)?[(（]?[0-9]+(?:[)）\s\-]{1,2}[0-9]+)*")
_ID_LIKE = re.compile(r"(?<![0-9])[0-9]{6}[ \-]?[0-9]{8}[ \-]?[0-9]{3}[0-9Xx](?![0-9A-Za-z])")
_NOT_PHONE_AFTER = re.compile(r"^\s*(?:元|块|万|年|月|日|号|人|户|名|平|米|公里|斤|亩|个|天|%)")


def _digits(text: str) -> str:
    plain = _SEPARATORS.sub("", halfwidth(text or "").strip())
    return _COUNTRY_PREFIX.sub("", plain)


def normalize_phone(text: str) -> str:
    """Digits only: '13812345678' for a mobile, '01012345678' for a landline; raise InvalidField('phone')."""
    number = _digits(text)
    if not number:
        raise InvalidField(FIELD, "empty", user_message=MSG_EMPTY)
    if not number.isdigit() or not number.isascii():
        raise InvalidField(FIELD, "not digits", user_message=MSG_INVALID)
    if number.startswith("1") and len(number) != 11:
        raise InvalidField(FIELD, f"mobile length {len(number)}", user_message=_msg_mobile_length(len(number)))
    if number[0] in "23456789" and 7 <= len(number) <= 8:
        raise InvalidField(FIELD, "landline without area code", user_message=MSG_LANDLINE_NO_AREA)
    if not (number.startswith("1") or number.startswith("0")):
        raise InvalidField(FIELD, "not a mobile or landline", user_message=MSG_INVALID)
    try:
        parsed = phonenumbers.parse(number, "CN")
    except phonenumbers.NumberParseException as exc:
        raise InvalidField(FIELD, "unparseable", user_message=MSG_INVALID) from exc
    if not phonenumbers.is_valid_number(parsed) or phonenumbers.number_type(parsed) not in _ACCEPTED_TYPES:
        raise InvalidField(FIELD, "invalid number", user_message=MSG_INVALID)
    national = str(parsed.national_number)
    return national if number.startswith("1") else "0" + national


def _runs(text: str) -> list[str]:
    """Phone-looking digit runs in free text, ID numbers and amounts/dates left out."""
    plain = _ID_LIKE.sub(lambda m: " " * len(m.group(0)), halfwidth(text or ""))
    runs = []
    for match in _RUN.finditer(plain):
        if _NOT_PHONE_AFTER.match(plain[match.end():]):
            continue
        runs.append(match.group(0))
    return runs


def find_phone(text: str) -> str | None:
    """The first valid phone number in free text (not part of an ID number), normalised."""
    for run in _runs(text):
        try:
            return normalize_phone(run)
        except InvalidField:
            continue
    return None


def find_phone_candidate(text: str) -> str | None:
    """Digits of the first run of 7-12 digits that looks like an attempt at a phone number."""
    for run in _runs(text):
        digits = re.sub(r"[^0-9]", "", run)
        if run.lstrip().startswith(("+", "00")) and digits.startswith(("86", "0086")):
            digits = _digits(run)
        if 7 <= len(digits) <= 12:
            return digits
    return None

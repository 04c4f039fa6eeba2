"""Resident ID numbers (居民身份证号码, GB 11643): normalise, validate, find in free text.

Checked: 18 characters, the GB 11643 check digit, a real birth date not in the future, and a
known province code.
"""
from __future__ import annotations

import re
from datetime import date

from stdnum import numdb
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from bot.errors import InvalidField
from bot.intake._text import NUMBER_SEPARATORS, halfwidth

FIELD = "id_number"
EXAMPLE = "11010519491231002X"

MSG_EMPTY = f"请您输入18位身份证号码，最后一位可能是数字或X，例如 {EXAMPLE}。"
MSG_FORMAT = f"身份证号码应由17位数字加最后一位数字或X组成，例如 {EXAMPLE}。请您再核对一下。"
MSG_CHECKSUM = "这个身份证号码的校验位对不上，可能有一位输错了。请您对照证件逐位核对后再发一次，例如 " + EXAMPLE + "。"
MSG_BIRTH = "身份证号码中第7到14位是出生日期，这里的日期好像不对。请您核对一下，例如 " + EXAMPLE + " 中的 19491231。"
MSG_REGION = "身份证号码的前6位是地区代码，这几位好像不对。请您对照证件核对一下，例如 " + EXAMPLE + "。"

_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])([0-9]{17}[0-9Xx])(?![0-9A-Za-z])")
_GROUPED = re.compile(r"(?<![0-9])([0-9]{6}[ \-][0-9]{8}[ \-][0-9]{3}[0-9Xx])(?![0-9A-Za-z])")


def _msg_length(n: int) -> str:
    return (
        f"身份证号码应为18位，您输入的是{n}位。最后一位可能是数字或X，例如 {EXAMPLE}。"
        "请您再核对一下。"
    )


def _known_province(number: str) -> bool:
    """The first two digits name a province. The county part is not checked: stdnum's table ties
    county codes to the years they existed, which rejects real numbers issued after a renaming."""
    return any("province" in props for _part, props in numdb.get("cn/loc").info(number[:6]))


def _compact(text: str) -> str:
    return NUMBER_SEPARATORS.sub("", halfwidth(text)).upper()


def normalize_id_number(text: str, today: date | None = None) -> str:
    """Return the 18-character ID with upper-case X, or raise InvalidField('id_number')."""
    number = _compact(text or "")
    if not number:
        raise InvalidField(FIELD, "empty", user_message=MSG_EMPTY)
    if re.fullmatch(r"[0-9X]+", number) and len(number) != 18:
        raise InvalidField(FIELD, f"length {len(number)}", user_message=_msg_length(len(number)))
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        raise InvalidField(FIELD, "format", user_message=MSG_FORMAT)
    if ric.calc_check_digit(number) != number[-1]:
        raise InvalidField(FIELD, "checksum", user_message=MSG_CHECKSUM)
    try:
        birth = ric.get_birth_date(number)
    except ValidationError as exc:
        raise InvalidField(FIELD, "birth date", user_message=MSG_BIRTH) from exc
    if not _known_province(number):
        raise InvalidField(FIELD, "region code", user_message=MSG_REGION)
    if birth > (today or date.today()) or birth.year < 1890:
        raise InvalidField(FIELD, "birth date implausible", user_message=MSG_BIRTH)
    return number


def is_valid_id_number(s: str) -> bool:
    try:
        normalize_id_number(s)
    except InvalidField:
        return False
    return True


def find_id_number(text: str) -> str | None:
    """The first 18-character ID-looking run in free text, normalised (valid or not)."""
    plain = halfwidth(text or "")
    found = [m for m in (_CANDIDATE.search(plain), _GROUPED.search(plain)) if m]
    if not found:
        return None
    first = min(found, key=lambda m: m.start())
    return _compact(first.group(1))

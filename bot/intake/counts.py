"""How many people a petition concerns (涉及人数): '三十多户' → 30, '就我自己' → 1."""
from __future__ import annotations

import re

from bot.errors import InvalidField
from bot.intake._text import CN_NUMERAL, halfwidth, to_number

FIELD = "people_count"
MSG_INVALID = "请您告诉我这件事涉及多少人，写数字就可以，例如“1”“5人”或“三十多户”；只有您自己的话请回复“1”。"
MSG_TOO_FEW = "涉及人数至少是1人（也就是您本人），请您再确认一下，例如“1”或“12人”。"
MAX_PEOPLE = 1_000_000

_NUM = rf"(?P<n>[0-9]{{1,7}}|[{CN_NUMERAL}]{{1,8}})"
_APPROX = r"(?P<a>多|几|余|来)?"
_PEOPLE_UNIT = r"(?:户人家|户|名|位|家人|口人|口|人|工人|农民工|村民|职工|员工|业主|居民|住户|家长|学生|老人)"
# not a school year or an ordinal: 初三学生, 高二家长, 大三学生, 第三户
_WITH_UNIT = re.compile(r"(?<![初高第大小])" + _NUM + r"\s*" + _APPROX + r"\s*个?\s*" + _PEOPLE_UNIT)
# Just a number with filler words around it: '3', '大概二十', '一共12个'.
_BARE = re.compile(r"^(?:大概|大约|约|差不多|一共|总共|共|有|涉及)*\s*" + _NUM + r"\s*" + _APPROX + r"\s*个?\s*(?:左右|上下|吧|。)*$")
_LONG_DIGITS = re.compile(r"[0-9Xx]{7,}")
_ALONE = re.compile(r"(?:就|只有|只是|仅)?我(?:一个人|自己|本人|1个人|1人)|^本人$|^(?:就|只有)?(?:我|本人)(?:自己)?$|^自己$|^个人$|^一个人$")
_ALONE_IN_STORY = re.compile(r"(?:就|只有|仅)我(?:一个人|自己|1人)|本人一人|涉及(?:1|一)人")
_COUPLE = re.compile(r"两口子|夫妻俩|夫妻两|我们夫妻|我和(?:我)?(?:爱人|老婆|丈夫|妻子|老伴|老公)")


def _clean(text: str) -> str:
    return _LONG_DIGITS.sub(" ", halfwidth(text or "")).strip()


def parse_count(text: str) -> int | None:
    """A people count from a direct answer; None when no count can be read ('全村', 'twenty')."""
    plain = _clean(text)
    if not plain:
        return None
    if _ALONE.search(plain):
        return 1
    if _COUPLE.search(plain):
        return 2
    match = _WITH_UNIT.search(plain) or _BARE.match(plain)
    if match:
        return to_number(match["n"])
    return None


def find_people_count(text: str) -> int | None:
    """An explicit count in free text ('我们十几个工人', '涉及30户'); a lone '一个人' is too ambiguous."""
    plain = _clean(text)
    if _ALONE_IN_STORY.search(plain):
        return 1
    for match in _WITH_UNIT.finditer(plain):
        value = to_number(match["n"])
        if value is not None and value >= 2:
            return value
    return None


def validate_people_count(text: str) -> int:
    """The count from an answer, or InvalidField('people_count') when none or less than 1."""
    value = parse_count(text)
    if value is None:
        raise InvalidField(FIELD, "no count", user_message=MSG_INVALID)
    if value < 1:
        raise InvalidField(FIELD, "less than one", user_message=MSG_TOO_FEW)
    if value > MAX_PEOPLE:
        raise InvalidField(FIELD, "implausible", user_message=MSG_INVALID)
    return value

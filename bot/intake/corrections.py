"""Corrections: which field a citizen's '...写错了' refers to, and summary edits such as '改3'."""
from __future__ import annotations

import re

from bot.intake._text import halfwidth, to_number

# Keyword → slot. The keyword appearing first in the text wins; at the same position the longer one.
FIELD_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("事发地点", "issue_region"), ("事发地", "issue_region"), ("发生地点", "issue_region"),
    ("发生地", "issue_region"), ("事发地址", "issue_region"), ("属地", "issue_region"), ("地点", "issue_region"),
    ("身份证", "id_number"), ("证件号", "id_number"), ("身份号码", "id_number"),
    ("手机", "phone"), ("电话", "phone"), ("联系方式", "phone"), ("号码", "phone"),
    ("姓名", "petitioner_name"), ("名字", "petitioner_name"),
    ("家庭住址", "address"), ("住址", "address"), ("地址", "address"), ("住的地方", "address"),
    ("发生时间", "occurred_on"), ("时间", "occurred_on"), ("日期", "occurred_on"), ("哪天", "occurred_on"),
    ("问题类别", "category"), ("类别", "category"), ("分类", "category"),
    ("信访类型", "petition_type"), ("类型", "petition_type"),
    ("诉求", "demand"), ("要求", "demand"),
    ("涉及人数", "people_count"), ("人数", "people_count"), ("多少人", "people_count"), ("几个人", "people_count"),
    ("被反映", "respondent"), ("被投诉", "respondent"), ("被举报", "respondent"), ("对象", "respondent"),
    ("事实", "facts"), ("经过", "facts"), ("情况描述", "facts"), ("理由", "facts"),
    ("此前处理", "prior_procedure"), ("处理情况", "prior_procedure"), ("之前的程序", "prior_procedure"),
)


def referenced_field(text: str) -> str | None:
    """The slot a correction refers to ('电话写错了' → 'phone'), or None."""
    plain = halfwidth(text or "")
    best: tuple[int, int, str] | None = None
    for keyword, slot in FIELD_KEYWORDS:
        pos = plain.find(keyword)
        if pos < 0:
            continue
        key = (pos, -len(keyword), slot)
        if best is None or key[:2] < best[:2]:
            best = key
    return best[2] if best else None


_NUM = r"(?P<n>[0-9]{1,2}|[一二三四五六七八九十]{1,3})(?![0-9])"
_VERB = r"(?:修改|更改|更正|改正|改)"
_TO = r"(?:改为|改成|修改为|修改成|更正为|应为|应该是|换成|为|成|是)"
_TO_AFTER_NUMBER = r"(?:改为|改成|修改为|修改成|更正为|应为|应该是|换成)"
_EDIT_PATTERNS = (
    # 改3 / 修改 3 / 我要改第3项：xxx / 改第三条为xxx
    re.compile(r"^(?:请|麻烦)?(?:帮我)?(?:我)?(?:要|想)?" + _VERB + r"\s*(?:一下)?\s*第?\s*" + _NUM
               + r"\s*(?:项|条|个|行)?\s*(?:" + _TO + r")?\s*[:：,，]?\s*(?P<rest>.*)$"),
    # 第3项改为 xxx / 3 改成 xxx / 3改
    re.compile(r"^第?\s*" + _NUM + r"\s*(?:项|条|个|行)?\s*(?:要|需要)?\s*(?:" + _TO_AFTER_NUMBER + r"|" + _VERB + r")"
               + r"\s*(?:为|成)?\s*[:：,，]?\s*(?P<rest>.*)$"),
    # 第3项：xxx
    re.compile(r"^第\s*" + _NUM + r"\s*(?:项|条)\s*[:：]\s*(?P<rest>.*)$"),
)


def parse_summary_edit(text: str) -> tuple[int, str] | None:
    """(item number, new value or '') for summary edits: '改3', '第3项改为 13800138000', '3 改成 xxx'."""
    plain = halfwidth(text or "").strip()
    for pattern in _EDIT_PATTERNS:
        match = pattern.match(plain)
        if match:
            number = to_number(match["n"])
            if number is None:
                continue
            return number, match["rest"].strip().strip("。")
    return None

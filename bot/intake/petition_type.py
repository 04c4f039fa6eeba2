"""Petition types (信访类型): suggestion 建议意见, accusation 检举控告, grievance 申诉求决."""
from __future__ import annotations

import re

from bot.intake._text import halfwidth, to_number
from bot.intake.fields import PETITION_TYPE_LABELS

_ANSWER_KEYWORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("accusation", re.compile(r"检举|举报|控告|揭发|告发")),
    ("suggestion", re.compile(r"建议|提议|意见建议|提意见|出主意|献策")),
    ("grievance", re.compile(r"申诉|求决|投诉|反映|要求解决|请求解决|解决问题|诉求|求助|维权|帮忙解决")),
)
_NUMBER = re.compile(r"^(?:第\s*)?(?P<n>[1-3一二三])\s*(?:个|项|种|类)?\s*[.。、)）]?$")

_ACCUSATION_STORY = re.compile(r"举报|检举|控告|揭发|贪污|受贿|行贿|腐败|挪用|侵吞|以权谋私|滥用职权|吃拿卡要")
_SUGGESTION_STORY = re.compile(
    r"建议|提议|提个意见|献计|希望(?:政府|有关部门|相关部门)?(?:能|可以|能够)?(?:增加|增设|加强|改进|完善|设立|开通|建设|修建|多建|多开)"
)
_GRIEVANCE_STORY = re.compile(
    r"投诉|反映|要求|请求|诉求|希望|申诉|拖欠|不给|不发|不退|不予|拒绝|克扣|讨要|维权|赔偿|补偿|退还|"
    r"解决|帮帮|帮忙|帮助|不公|侵害|侵占|损失|被打|强拆|污染"
)


def match_petition_type(text: str) -> str | None:
    """The type a citizen picks: a code, a label, 1-3 in label order, or words such as 举报/建议/投诉."""
    plain = halfwidth(text or "").strip().strip("“”\"'")
    if not plain:
        return None
    if plain.lower() in PETITION_TYPE_LABELS:
        return plain.lower()
    number = _NUMBER.match(plain)
    if number:
        value = to_number(number["n"])
        return list(PETITION_TYPE_LABELS)[value - 1] if value else None
    for code, label in PETITION_TYPE_LABELS.items():
        if label in plain:
            return code
    for code, pattern in _ANSWER_KEYWORDS:
        if pattern.search(plain):
            return code
    return None


def suggest_petition_type(text: str) -> str | None:
    """A likely type for a narrative: accusation > suggestion > grievance; None without any cue."""
    plain = halfwidth(text or "")
    if _ACCUSATION_STORY.search(plain):
        return "accusation"
    if _SUGGESTION_STORY.search(plain):
        return "suggestion"
    if _GRIEVANCE_STORY.search(plain):
        return "grievance"
    return None

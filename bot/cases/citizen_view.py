"""What a citizen is told about their own cases (plain words, next step and date)."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from bot.cases.case_no import normalize_case_no
from bot.cases.submission import format_day

CASE_NO_PATTERN = re.compile(r"XF\d{8}-\d{4}", re.IGNORECASE)

# What the status means for the citizen and what comes next.
STATUS_TEXT: dict[str, str] = {
    "registered": "已登记，正在审查是否受理",
    "accepted": "已受理，正在办理",
    "not_accepted": "不予受理，工作人员已告知您可以走的途径",
    "transferred": "已转送有权处理的机关，对方会告知您是否受理",
    "in_progress": "正在办理中",
    "answered": "已出具处理意见",
    "closed": "已办结",
    "review_requested": "已收到您的复查请求",
    "review_answered": "复查意见已出具",
    "recheck_requested": "已收到您的复核请求",
    "recheck_answered": "复核意见已出具",
}


#: "XF" and digits that are not a whole case number ("XF2026112", "XF-2026-000001")
_CASE_NO_ATTEMPT = re.compile(r"XF[-\d]{3,}", re.IGNORECASE)
MALFORMED_CASE_NO = (
    "这个编号的格式好像不对。信访事项编号是这样的：XF20261124-0007（XF、8位日期、短横线、4位序号），"
    "登记成功时发给您的消息里有。请核对后再发一次；也可以直接说“查询进度”，查看本账号登记的全部事项。"
)


#: no case filed from this chat account (a number filed elsewhere cannot be looked up here either)
NO_CASES = (
    "没有查到您用这个账号登记的信访事项。为保护信访人的信息，这里只能查询本账号登记的事项；"
    "通过来信、来访、电话或其他账号反映的，请向受理机关查询，或拨打12345政务服务便民热线。"
    "如果想现在登记，请发送“登记信访事项”。"
)


def find_case_no(text: str) -> str | None:
    """A case number in ``text`` (full-width letters and dashes, spaces and lower case allowed)."""
    match = CASE_NO_PATTERN.search(normalize_case_no(text or ""))
    return match.group(0) if match else None


def mentions_case_no(text: str) -> bool:
    """``text`` holds a case number, or something that tries to be one."""
    plain = normalize_case_no(text or "")
    return bool(CASE_NO_PATTERN.search(plain) or _CASE_NO_ATTEMPT.search(plain))


def status_line(case: Any) -> str:
    status = str(getattr(case.status, "value", case.status))
    line = f"{case.case_no}：{STATUS_TEXT.get(status, status)}"
    if case.due_at is not None and status not in ("closed", "answered", "review_answered", "recheck_answered"):
        line += f"，下一步预计在{format_day(case.due_at)}前完成"
    return line + "。"


def status_message(cases: Iterable[Any]) -> str:
    items = list(cases)
    if not items:
        return NO_CASES
    if len(items) == 1:
        return "您的信访事项办理情况：\n" + status_line(items[0])
    return "您登记的信访事项：\n" + "\n".join(status_line(c) for c in items)

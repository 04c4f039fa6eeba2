"""What the citizen is told when their case moves (pure): one template per status.

Each message says what happened, what comes next and by when (dates as China calendar
days, ``2026年12月8日``), with the article of 《信访工作条例》 it rests on. At ``closed`` the
citizen is asked for a 1–5 satisfaction rating with buttons whose payloads trigger the
``rate_case`` intent: ``/rate_case{"case_no":"XF…","rating":3}``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bot.cases.submission import format_day
from bot.cases.workflow import window_deadline
from bot.triage.render import CHANNEL_LABELS

#: longest written answer quoted in a chat message; the full text is sent in writing
ANSWER_EXCERPT = 600
#: channels that can carry a message back to the citizen
CHAT_CHANNELS = frozenset({"rest", "telegram", "wechat"})
RATING_TITLES = {1: "1分 很不满意", 2: "2分 不满意", 3: "3分 一般", 4: "4分 满意", 5: "5分 很满意"}


@dataclass(frozen=True)
class Notice:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    kind: str = "status"


def rating_payload(case_no: str, rating: int) -> str:
    return "/rate_case" + json.dumps({"case_no": case_no, "rating": rating}, ensure_ascii=False, separators=(",", ":"))


def rating_buttons(case_no: str) -> list[dict[str, str]]:
    return [{"title": RATING_TITLES[n], "payload": rating_payload(case_no, n)} for n in range(1, 6)]


def _excerpt(text: str | None) -> str:
    body = (text or "").strip()
    if len(body) <= ANSWER_EXCERPT:
        return body
    return body[:ANSWER_EXCERPT] + "……（完整意见以书面形式送达）"


def _by(case: Any) -> str:
    return format_day(case.due_at) if case.due_at is not None else "法定期限内"


def can_notify(case: Any) -> bool:
    """Only cases that came in through a chat channel can be answered there."""
    return case.channel in CHAT_CHANNELS and bool(case.sender_id)


def status_notice(case: Any, action: str, *, department_name: str | None = None) -> Notice | None:
    """The message for the citizen after ``action`` moved ``case`` (``case`` already updated)."""
    no = case.case_no
    status = str(getattr(case.status, "value", case.status))
    if action == "extend":
        return Notice(
            f"您的信访事项（编号{no}）情况较复杂，需要更多时间核实，办理期限依照《信访工作条例》第三十四条"
            f"延长30日。延期原因：{case.extension_reason}。我们会在{_by(case)}前给您书面答复，谢谢您的耐心。"
        )
    if status == "accepted":
        return Notice(
            f"您的信访事项（编号{no}）已经受理。我们会调查核实，并在{_by(case)}前给您书面答复意见"
            "（《信访工作条例》第三十四条）。"
        )
    if status == "not_accepted":
        way = CHANNEL_LABELS.get(case.suggested_channel or "", case.suggested_channel or "")
        return Notice(
            f"您的信访事项（编号{no}）经审查不予受理。原因：{case.not_accepted_reason}。"
            f"建议您{way}，这样能更快依法解决，请注意相关期限。有疑问可以在这里发送“转人工”。"
        )
    if status == "transferred":
        to = department_name or "有权处理的机关"
        return Notice(
            f"您的信访事项（编号{no}）已转送{to}办理。对方会在{_by(case)}前告诉您是否受理"
            "（《信访工作条例》第二十二条、第二十三条）。"
        )
    if status == "in_progress":
        return Notice(f"您的信访事项（编号{no}）已开始办理，工作人员正在调查核实，会在{_by(case)}前给您书面答复。")
    if status == "answered":
        until = window_deadline(case, "request_review")
        tail = f"如果您不服，可以在{format_day(until)}前请求复查（第三十五条）" if until else "如果您不服，可以在30日内请求复查（第三十五条）"
        return Notice(
            f"您的信访事项（编号{no}）已出具处理意见：\n{_excerpt(case.answer_text)}\n"
            f"{tail}，在这里发送“转人工”即可由工作人员帮您办理。"
        )
    if status == "review_requested":
        return Notice(f"已收到您对信访事项（编号{no}）的复查请求，复查意见会在{_by(case)}前出具（第三十五条）。")
    if status == "review_answered":
        until = window_deadline(case, "request_recheck")
        tail = f"如果仍不服，可以在{format_day(until)}前请求复核（第三十六条）" if until else "如果仍不服，可以在30日内请求复核（第三十六条）"
        return Notice(f"您的信访事项（编号{no}）复查意见如下：\n{_excerpt(case.review_answer_text)}\n{tail}。")
    if status == "recheck_requested":
        return Notice(f"已收到您对信访事项（编号{no}）的复核请求，复核意见会在{_by(case)}前出具（第三十六条）。")
    if status == "recheck_answered":
        return Notice(
            f"您的信访事项（编号{no}）复核意见如下：\n{_excerpt(case.recheck_answer_text)}\n"
            "依照《信访工作条例》第三十六条，这是最终意见，同一事项不再受理。"
        )
    if status == "closed":
        return Notice(
            f"您的信访事项（编号{no}）已经办结，感谢您的信任。请您为这次办理打个分（1分很不满意，5分很满意），"
            "您的评价会帮助我们改进工作。",
            buttons=rating_buttons(no),
        )
    return None


def reply_notice(case_no: str, text: str) -> Notice:
    """A staff member's message to the citizen from the case page."""
    return Notice(f"工作人员就您的信访事项（编号{case_no}）回复：\n{text.strip()}", kind="reply")


RATING_THANKS = "谢谢您的评价！我们会认真改进工作。"

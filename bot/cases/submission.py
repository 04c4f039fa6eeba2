"""From the form's slots to a case submission, and the message that closes the form."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.cases.channel import Channel
from bot.cases.service import PetitionSubmission

DISPLAY_TZ = ZoneInfo("Asia/Shanghai")
KNOWN_CHANNELS = frozenset(c.value for c in Channel)


def submission_from_slots(
    slots: Mapping[str, Any],
    *,
    channel: str,
    sender_id: str,
    conversation_id: str,
    idempotency_key: str,
    transcript: list[dict[str, Any]],
    triage: Mapping[str, Any] | None = None,
) -> PetitionSubmission:
    """The form's slots plus where they came from; triage details when the chat ran it."""
    triage = triage or {}
    values = dict(slots)
    if values.get("people_count") is not None:
        values["people_count"] = int(values["people_count"])
    values["consent"] = bool(values.get("consent"))
    values["legal_channel"] = values.get("legal_channel") or triage.get("legal_channel")
    values["legal_channel_alternatives"] = list(
        values.get("legal_channel_alternatives") or triage.get("legal_channel_alternatives") or []
    )
    return PetitionSubmission.from_slots(
        values,
        channel=channel if channel in KNOWN_CHANNELS else Channel.REST.value,
        sender_id=sender_id,
        conversation_id=conversation_id,
        idempotency_key=idempotency_key,
        transcript=transcript,
        triage_rule_id=triage.get("rule_id"),
        triage_version=triage.get("table_version"),
    )


def format_day(moment: datetime) -> str:
    local = moment.astimezone(DISPLAY_TZ)
    return f"{local.year}年{local.month}月{local.day}日"


#: statuses in which the office owes the citizen a next step by ``due_at``
_HANDLING = frozenset({"registered", "transferred", "accepted", "in_progress", "review_requested", "recheck_requested"})


def closing_message(
    case_no: str, due_at: datetime, *, created: bool = True, duplicate_of: str | None = None,
    linked_to: str | None = None, status: str | None = None,
) -> str:
    """What the citizen reads after submitting. ``duplicate_of``: the submission repeated an
    open case of theirs (nothing new was registered; ``status`` is that case's status);
    ``linked_to``: an earlier, finished case about the same matter the new one is linked to."""
    if duplicate_of:
        when = f"目前仍在办理中，下一步会在{format_day(due_at)}前完成。" if status in _HANDLING else ""
        return (
            f"您反映的这件事我们已经在办理，编号：{duplicate_of}，这次不再重复登记。{when}\n"
            "您这次补充的内容已经记入这件案件，工作人员会一并查看。"
            "办理进度有变化时我会在这里通知您，您也可以随时发送“查询进度”。"
        )
    head = "您的信访事项已登记成功。" if created else "这件事已经登记过了，不会重复登记。"
    if linked_to:
        head += f"我们注意到您之前反映过同一事项（编号：{linked_to}），已把两件关联起来一并审查。"
    return (
        f"{head}\n编号：{case_no}\n"
        f"接下来：工作人员会审查您的材料，并在{format_day(due_at)}前告诉您是否受理"
        "（《信访工作条例》第二十二条、第二十三条）。\n"
        "办理进度有变化时我会在这里通知您，您也可以随时发送“查询进度”。"
    )

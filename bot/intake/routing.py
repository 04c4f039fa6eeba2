"""Legal-channel advice on a petition being filed (诉访分离, 《信访工作条例》第三十一条).

The form calls :func:`route_petition` once the facts, the demand and the earlier
procedure are known. When the decision table points to litigation, review,
arbitration or another organ, the citizen is told before submitting and chooses.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.errors import InvalidField
from bot.triage import triage
from bot.triage.render import render_chat

# Channels where filing the petition here is itself the right step.
PETITION_CHANNELS = frozenset({"petition", "petition_review"})


@dataclass(frozen=True)
class RoutingAdvice:
    other_channel: bool
    message: str
    slots: dict[str, Any] = field(default_factory=dict)


def _answers(values: Mapping[str, Any]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    if values.get("prior_procedure"):
        answers["prior_procedure"] = values["prior_procedure"]
    if values.get("occurred_on"):
        answers["known_date"] = values["occurred_on"]
    return answers


def route_petition(values: Mapping[str, Any], today: date) -> RoutingAdvice:
    text = "\n".join(str(values.get(k) or "") for k in ("facts", "demand", "respondent"))
    if values.get("petition_type") == "suggestion":
        text = "建议：" + text
    try:
        result = triage(text, _answers(values), today)
    except InvalidField:
        result = triage(text, {k: v for k, v in _answers(values).items() if k != "known_date"}, today)
    slots = {
        "legal_channel": result.legal_channel,
        "legal_channel_alternatives": list(result.legal_channel_alternatives),
        "triage_info": {
            "legal_channel": result.legal_channel,
            "legal_channel_alternatives": list(result.legal_channel_alternatives),
            "rule_id": result.rule_id,
            "table_version": result.table_version,
        },
    }
    if result.legal_channel in PETITION_CHANNELS:
        return RoutingAdvice(False, "", slots)
    message = (
        "提交前想提醒您：\n"
        + render_chat(result, with_question=False)
        + "\n\n按法定途径办理通常更快，也不会错过期限。您仍然希望提交这件信访事项吗？"
    )
    return RoutingAdvice(True, message, slots)

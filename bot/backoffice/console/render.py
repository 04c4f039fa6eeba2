"""Templates of the console: one Jinja2 environment (autoescape on), labels and formats.

Citizens' text may contain markup or script; everything goes through Jinja2's escaping and
nothing is marked safe except the SVG charts built by :mod:`.charts` (which escape themselves).
Dates are shown in China time (Asia/Shanghai).
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.backoffice.users import ROLE_LABELS, SCOPE_LABELS, ConsoleSession, display_names
from bot.cases.channel import CHANNEL_LABELS, Channel
from bot.cases.deadlines import to_local
from bot.cases.status import STATUS_LABELS, CaseStatus
from bot.intake.fields import CATEGORY_LABELS, FIELD_LABELS, PETITION_TYPE_LABELS, PRIOR_PROCEDURE_LABELS
from bot.triage.render import CHANNEL_LABELS as LEGAL_CHANNEL_LABELS

HERE = Path(__file__).resolve().parent

STATUS_NAMES = {s.value: label for s, label in STATUS_LABELS.items()}
CHANNEL_NAMES = {c.value: label for c, label in CHANNEL_LABELS.items()}
OFFLINE_CHANNELS = (Channel.LETTER.value, Channel.PHONE.value, Channel.VISIT.value)
ACTION_NAMES = {
    "submit": "登记", "status": "状态变更", "claim": "认领", "release": "退回队列", "assign": "指派",
    "accept": "受理", "not_accept": "不予受理", "transfer": "转送", "start": "开始办理", "extend": "延期",
    "answer": "出具处理意见", "close": "办结", "request_review": "请求复查", "answer_review": "出具复查意见",
    "request_recheck": "请求复核", "answer_recheck": "出具复核意见", "reply": "回复信访人",
    "view_identity": "查看完整身份信息", "rate": "满意度评价", "route": "分派部门", "link": "关联案件",
}


def _moment(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if value is None or value.tzinfo is None:
        return None
    return value


def fmt_time(value: datetime | str | None) -> str:
    moment = _moment(value)
    return f"{to_local(moment):%Y-%m-%d %H:%M}" if moment else ""


def fmt_date(value: datetime | str | None) -> str:
    moment = _moment(value)
    return f"{to_local(moment):%Y-%m-%d}" if moment else ""


def label(mapping: dict[str, str], code: Any) -> str:
    if code is None or code == "":
        return ""
    text = str(getattr(code, "value", code))
    return mapping.get(text, text)


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(enabled_extensions=("html", "svg"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        time=fmt_time,
        date=fmt_date,
        status=lambda c: label(STATUS_NAMES, c),
        category=lambda c: label(CATEGORY_LABELS, c),
        channel=lambda c: label(CHANNEL_NAMES, c),
        petition_type=lambda c: label(PETITION_TYPE_LABELS, c),
        prior=lambda c: label(PRIOR_PROCEDURE_LABELS, c),
        legal_channel=lambda c: label(LEGAL_CHANNEL_LABELS, c),
        action=lambda c: label(ACTION_NAMES, c),
        role=lambda c: label(ROLE_LABELS, c),
    )
    env.globals.update(
        STATUS_NAMES=STATUS_NAMES,
        STATUSES=[s.value for s in CaseStatus],
        CATEGORY_LABELS=CATEGORY_LABELS,
        CHANNEL_NAMES=CHANNEL_NAMES,
        OFFLINE_CHANNELS=OFFLINE_CHANNELS,
        FIELD_LABELS=FIELD_LABELS,
        PETITION_TYPE_LABELS=PETITION_TYPE_LABELS,
        PRIOR_PROCEDURE_LABELS=PRIOR_PROCEDURE_LABELS,
        LEGAL_CHANNEL_LABELS=LEGAL_CHANNEL_LABELS,
        ROLE_LABELS=ROLE_LABELS,
        SCOPE_LABELS=SCOPE_LABELS,
    )
    return Jinja2Templates(env=env)


def staff_names(request: Request) -> dict[str, str]:
    """Login → display name of every console user (pages show colleagues by name)."""
    factory = getattr(request.app.state, "session_factory", None)
    return display_names(factory) if factory is not None else {}


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    session: ConsoleSession | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page; ``session`` (the signed-in user) feeds the navigation and the CSRF fields."""
    values: dict[str, Any] = {
        "staff_names": staff_names(request) if session else {},
        "me": session,
        "csrf_token": session.csrf_token if session else "",
        "nav": "",
        "notice": None,
        "error": None,
    }
    values.update(context or {})
    response: HTMLResponse = templates().TemplateResponse(
        request, name, values, status_code=status_code, headers=headers
    )
    return response

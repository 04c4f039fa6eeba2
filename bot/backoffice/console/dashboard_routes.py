"""Dashboard (信访信息分析) and the escalation list (督查督办: overdue and near-due cases)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from bot.backoffice.console.charts import bar_chart
from bot.backoffice.console.render import STATUS_NAMES, render
from bot.backoffice.console.security import current_session, factory_of
from bot.backoffice.users import ConsoleSession
from bot.cases.deadlines import utcnow
from bot.cases.departments import get_routing_table
from bot.cases.queue import dashboard_stats, escalations
from bot.intake.fields import CATEGORY_LABELS

router = APIRouter(prefix="/console", include_in_schema=False)

UNKNOWN = "unknown"
MAX_BARS = 15
WEEKS_SHOWN = 12


def _pairs(counts: dict[str, int], labels: dict[str, str] | None = None, *, limit: int = MAX_BARS,
           keep_zero: bool = False) -> list[tuple[str, int]]:
    pairs = []
    for code, value in counts.items():
        if not value and not keep_zero:
            continue
        name = "未填写" if code in (UNKNOWN, "", None) else (labels or {}).get(code, code)
        pairs.append((name, int(value)))
    return pairs[:limit]


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, me: Annotated[ConsoleSession, Depends(current_session)]) -> Response:
    factory = factory_of(request)
    stats: dict[str, Any] = dashboard_stats(factory, utcnow())
    departments = {d.code: d.name for d in get_routing_table(factory).departments}
    weeks = list(stats.get("by_week", {}).items())[-WEEKS_SHOWN:]
    charts = [
        ("按状态", bar_chart(_pairs(stats.get("by_status", {}), STATUS_NAMES), title="按状态统计的案件数")),
        ("按问题类别", bar_chart(_pairs(stats.get("by_category", {}), CATEGORY_LABELS), title="按问题类别统计的案件数")),
        ("按地区（省）", bar_chart(_pairs(stats.get("by_province", {})), title="按事发地（省）统计的案件数")),
        ("按地区（市）", bar_chart(_pairs(stats.get("by_city", {})), title="按事发地（市）统计的案件数")),
        ("按承办部门", bar_chart(_pairs(stats.get("by_department", {}), departments), title="按承办部门统计的案件数")),
        ("按登记周", bar_chart([(week, int(n)) for week, n in weeks], title="每周登记的案件数")),
    ]
    return render(request, "dashboard.html", {"nav": "dashboard", "stats": stats, "charts": charts}, session=me)


@router.get("/escalations", response_class=HTMLResponse)
def escalation_list(request: Request, me: Annotated[ConsoleSession, Depends(current_session)]) -> Response:
    found = escalations(factory_of(request), utcnow())
    return render(request, "escalations.html", {"nav": "escalations", "found": found}, session=me)

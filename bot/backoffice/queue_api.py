"""Case queue API: staff-entered cases, workflow actions, claim / release / assign, replies,
escalations, the dashboard, CSV export and the routing table.

Everything here calls :mod:`bot.cases.queue` / :mod:`bot.cases.service`; errors are
:mod:`bot.errors` types (409 a lost claim or a case held by someone else, 422 a missing
note or a closed time window, 403 a role that may not act). A back-office principal acts
as a workflow :class:`bot.cases.workflow.Actor` with the same name and role.
"""
from __future__ import annotations

import csv
import io
import logging
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import sessionmaker

from bot.backoffice.auth import CurrentPrincipal, Principal, Role, require_role
from bot.cases.deadlines import CHINA_TZ, local_date, utcnow
from bot.cases.departments import do_replace_routing_table, get_routing_table
from bot.cases.privacy import department_of, do_reveal_identities
from bot.cases.queue import (
    dashboard_stats,
    do_assign,
    do_case_action,
    do_claim,
    do_claim_next,
    do_release,
    do_reply,
    escalations,
)
from bot.cases.routing import table_to_dict
from bot.cases.serialize import case_to_dict_for
from bot.cases.service import (
    CATEGORIES,
    UNCLAIMED,
    PetitionSubmission,
    do_submit_petition,
    get_case,
    list_cases,
)
from bot.cases.status import STATUS_LABELS, CaseStatus
from bot.cases.workflow import ACTIONS, Actor, available_actions
from bot.errors import InvalidInput
from bot.triage.render import CHANNEL_LABELS

pii_log = logging.getLogger("bot.backoffice.pii_access")
queue_router = APIRouter(tags=["queue"])

CSV_MAX_ROWS = 10_000
CSV_PAGE = 200
CSV_COLUMNS = (
    "case_no", "status", "status_label", "channel", "created_at", "due_date", "due_state", "department_code",
    "assignee", "joint", "linked_case_no", "petition_type", "category", "issue_region", "petitioner_name",
    "id_number", "phone", "address", "respondent", "occurred_on", "facts", "demand", "people_count",
    "legal_channel", "answered_at", "closed_at", "satisfaction",
)


class ErrorOut(BaseModel):
    code: str
    detail: str
    message: str


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
    409: {"model": ErrorOut}, 422: {"model": ErrorOut},
}


class CaseCreateIn(BaseModel):
    """A petition that came by letter, phone or visit, entered by staff (fields as the chat form's slots)."""

    channel: Literal["letter", "phone", "visit"]
    petitioner_name: str = Field(..., min_length=1, max_length=100)
    facts: str = Field(..., min_length=1, max_length=20000)
    demand: str = Field(..., min_length=1, max_length=20000)
    consent: bool = Field(..., description="the petitioner agreed to the processing of personal information")
    petition_type: str | None = None
    id_number: str | None = Field(None, max_length=32)
    phone: str | None = Field(None, max_length=32)
    address: str | None = Field(None, max_length=500)
    issue_region: str | None = Field(None, max_length=200)
    category: str | None = None
    respondent: str | None = Field(None, max_length=500)
    occurred_on: str | None = None
    people_count: int | None = Field(None, ge=1)
    prior_procedure: str | None = None
    legal_channel: str | None = None


class SubmitOut(BaseModel):
    case_no: str
    created: bool
    status: str
    due_at: str
    duplicate_of: str | None = Field(None, description="an open case of the same petitioner about this matter")
    linked_to: str | None = Field(None, description="an earlier, finished case about the same matter")
    department_code: str | None


class ActionOut(BaseModel):
    case: dict[str, Any]
    available_actions: list[str]


class AssignIn(BaseModel):
    assignee: str = Field(..., min_length=1, max_length=200)
    note: str | None = Field(None, max_length=4000)


class ReleaseIn(BaseModel):
    note: str | None = Field(None, max_length=4000)


class ReplyIn(BaseModel):
    text: str = Field(..., min_length=1, max_length=2000)


class ParamOut(BaseModel):
    name: str
    label: str
    kind: str
    required: bool
    max_length: int


class ActionSpecOut(BaseModel):
    name: str
    label: str
    description: str
    from_statuses: list[str]
    to_status: str | None
    roles: list[str]
    params: list[ParamOut]


class EscalationsOut(BaseModel):
    near_days: int
    overdue: list[dict[str, Any]]
    near_due: list[dict[str, Any]]


class DepartmentIn(BaseModel):
    code: str
    name: str
    active: bool = True


class RuleIn(BaseModel):
    region: str = ""
    category: str = ""
    department: str
    priority: int = 0


class RoutingTableIn(BaseModel):
    departments: list[DepartmentIn]
    rules: list[RuleIn]


def _factory(request: Request) -> sessionmaker:
    factory: sessionmaker = request.app.state.session_factory
    return factory


def actor_of(principal: Principal) -> Actor:
    return Actor(principal.name, principal.role.value)


def _near_days(request: Request) -> int:
    return int(getattr(request.app.state.settings, "near_due_days", 3))


def _view(case: Any, principal: Principal) -> dict[str, Any]:
    """A case as ``principal`` may see it (masked; the accused unit's staff see no identity)."""
    return case_to_dict_for(case, principal.role, department_of(principal), revealed=False,
                            pii_scope=principal.may_see_pii, include_events=True)


def _action_out(case: Any, principal: Principal) -> dict[str, Any]:
    actions = [spec.name for spec in available_actions(case, actor_of(principal), utcnow())]
    return {"case": _view(case, principal), "available_actions": actions}


# --------------------------------------------------------------------------- cases


@queue_router.post("/api/cases", status_code=201, response_model=SubmitOut, responses=ERRORS,
                   summary="Register a letter, call or visit (登记来信、来电、来访)")
def api_create_case(request: Request, body: CaseCreateIn, principal: CurrentPrincipal) -> Any:
    values = body.model_dump() if hasattr(body, "model_dump") else body.dict()
    submission = PetitionSubmission(**values, confirm=True, actor=str(principal))
    result = do_submit_petition(_factory(request), submission)
    return {
        "case_no": result.case_no, "created": result.created, "status": result.status.value,
        "due_at": result.due_at.isoformat(), "duplicate_of": result.duplicate_of,
        "linked_to": result.linked_to, "department_code": result.department_code,
    }


@queue_router.get("/api/workflow", response_model=list[ActionSpecOut], responses=ERRORS,
                  summary="The workflow's actions (办理操作)")
def api_workflow(principal: CurrentPrincipal) -> Any:
    return [
        {
            "name": spec.name, "label": spec.label, "description": spec.description,
            "from_statuses": sorted(s.value for s in spec.from_statuses),
            "to_status": spec.to_status.value if spec.to_status else None,
            "roles": sorted(spec.roles),
            "params": [{"name": p.name, "label": p.label, "kind": p.kind, "required": p.required,
                        "max_length": p.max_length} for p in spec.params],
        }
        for spec in ACTIONS.values()
    ]


@queue_router.post("/api/cases/{case_no}/actions/{action}", response_model=ActionOut, responses=ERRORS,
                   summary="Take a workflow action (受理、转送、答复 …)")
def api_case_action(
    request: Request,
    case_no: str,
    action: str,
    principal: CurrentPrincipal,
    params: Annotated[dict[str, str | None] | None, Body()] = None,
) -> Any:
    if action not in ACTIONS:
        raise InvalidInput(f"unknown action {action!r}", user_message="没有这个办理操作。")
    cleaned = {k: v for k, v in (params or {}).items() if v is not None}
    case = do_case_action(_factory(request), case_no, action, actor_of(principal), cleaned)
    return _action_out(get_case(_factory(request), case.case_no), principal)


@queue_router.post("/api/cases/{case_no}/claim", response_model=ActionOut, responses=ERRORS,
                   summary="Claim a case (认领)")
def api_claim(request: Request, case_no: str, principal: CurrentPrincipal) -> Any:
    case = do_claim(_factory(request), case_no, actor_of(principal))
    return _action_out(get_case(_factory(request), case.case_no), principal)


@queue_router.post("/api/cases/{case_no}/release", response_model=ActionOut, responses=ERRORS,
                   summary="Give a case back to the queue (退回队列)")
def api_release(
    request: Request, case_no: str, principal: CurrentPrincipal, body: Annotated[ReleaseIn | None, Body()] = None
) -> Any:
    case = do_release(_factory(request), case_no, actor_of(principal), note=body.note if body else None)
    return _action_out(get_case(_factory(request), case.case_no), principal)


@queue_router.post("/api/cases/{case_no}/assign", response_model=ActionOut, responses=ERRORS,
                   summary="Assign a case to a member of staff (指派)")
def api_assign(request: Request, case_no: str, body: AssignIn, principal: CurrentPrincipal) -> Any:
    case = do_assign(_factory(request), case_no, actor_of(principal), body.assignee, note=body.note)
    return _action_out(get_case(_factory(request), case.case_no), principal)


@queue_router.post("/api/cases/{case_no}/reply", response_model=ActionOut, responses=ERRORS,
                   summary="Write to the citizen through their chat channel (回复信访人)")
def api_reply(request: Request, case_no: str, body: ReplyIn, principal: CurrentPrincipal) -> Any:
    case = do_reply(_factory(request), case_no, actor_of(principal), body.text)
    return _action_out(get_case(_factory(request), case.case_no), principal)


@queue_router.post("/api/queue/claim-next", response_model=ActionOut | None, responses=ERRORS,
                   summary="Claim the most urgent free case (领取下一件)")
def api_claim_next(
    request: Request,
    principal: CurrentPrincipal,
    department: Annotated[str | None, Query(max_length=32)] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    case = do_claim_next(_factory(request), actor_of(principal), department=department, category=category)
    if case is None:
        return None
    return _action_out(get_case(_factory(request), case.case_no), principal)


# --------------------------------------------------------------------------- supervision


@queue_router.get("/api/escalations", response_model=EscalationsOut, responses=ERRORS,
                  summary="Overdue and near-due cases (督办)")
def api_escalations(
    request: Request,
    principal: CurrentPrincipal,
    near_days: Annotated[int | None, Query(ge=0, le=60)] = None,
) -> Any:
    found = escalations(_factory(request), near_days=near_days if near_days is not None else _near_days(request))
    department = department_of(principal)
    view = [  # lists are masked
        [case_to_dict_for(c, principal.role, department, pii_scope=principal.may_see_pii) for c in group]
        for group in (found.overdue, found.near_due)
    ]
    return {"near_days": found.near_days, "overdue": view[0], "near_due": view[1]}


def _day_start(day: date | None) -> datetime | None:
    return datetime.combine(day, time(0), tzinfo=CHINA_TZ) if day is not None else None


@queue_router.get("/api/dashboard", responses=ERRORS, summary="Counts for analysis (信访信息分析)")
def api_dashboard(
    request: Request,
    principal: CurrentPrincipal,
    since: Annotated[date | None, Query(description="first China date (inclusive)")] = None,
    until: Annotated[date | None, Query(description="last China date (inclusive)")] = None,
) -> dict[str, Any]:
    end = _day_start(until + timedelta(days=1)) if until is not None else None
    stats = dashboard_stats(_factory(request), near_days=_near_days(request), since=_day_start(since), until=end)
    stats["status_labels"] = {s.value: STATUS_LABELS[s] for s in CaseStatus}
    return stats


# --------------------------------------------------------------------------- export


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text  # no formulas when the file is opened in a spreadsheet
    return text


@queue_router.get("/api/cases.csv", responses=ERRORS, response_class=Response,
                  summary="Export the filtered cases as CSV (导出)")
def api_cases_csv(
    request: Request,
    principal: CurrentPrincipal,
    status: Annotated[CaseStatus | None, Query()] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    region: Annotated[str | None, Query(max_length=200)] = None,
    department: Annotated[str | None, Query(max_length=32)] = None,
    due: Annotated[Literal["overdue", "near_due"] | None, Query()] = None,
    joint: Annotated[bool | None, Query()] = None,
    claimed_by: Annotated[str | None, Query(max_length=200, description=f"a staff name, or {UNCLAIMED!r}")] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    sort: Annotated[Literal["newest", "oldest", "due", "updated"], Query()] = "newest",
    reveal: Annotated[bool, Query(description="admin only: ID and phone numbers unmasked (audited)")] = False,
) -> Response:
    factory = _factory(request)
    filters = dict(status=status, category=category, region=region, department=department, due=due, joint=joint,
                   claimed_by=claimed_by, q=q, sort=sort, near_days=_near_days(request))
    cases: list[Any] = []
    while len(cases) < CSV_MAX_ROWS:
        page, total = list_cases(factory, limit=CSV_PAGE, offset=len(cases), **filters)  # type: ignore[arg-type]
        cases.extend(page)
        if len(page) < CSV_PAGE or len(cases) >= total:
            break
    cases = cases[:CSV_MAX_ROWS]
    department_code = department_of(principal)
    revealed: set[str] = set()
    if reveal and principal.may_see_pii and cases:
        revealed = set(do_reveal_identities(factory, [c.case_no for c in cases], principal, reason="csv export"))
        pii_log.info("%s exported %d cases unmasked", principal, len(revealed))
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads UTF-8 with a BOM
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for case in cases:
        row = case_to_dict_for(case, principal.role, department_code, revealed=case.case_no in revealed,
                               pii_scope=principal.may_see_pii)
        writer.writerow([_csv_cell(row.get(column)) for column in CSV_COLUMNS])
    stamp = local_date(utcnow()).strftime("%Y%m%d")
    return Response(
        content=out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="cases-{stamp}.csv"'},
    )


# --------------------------------------------------------------------------- routing table


@queue_router.get("/api/departments", responses=ERRORS, summary="Departments and routing rules (分派规则)")
def api_get_departments(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    data = table_to_dict(get_routing_table(_factory(request)))
    data["legal_channels"] = dict(CHANNEL_LABELS)
    return data


@queue_router.put("/api/departments", responses=ERRORS, summary="Replace departments and routing rules (admin)")
def api_put_departments(
    request: Request,
    body: RoutingTableIn,
    principal: Annotated[Principal, Depends(require_role(Role.ADMIN))],
) -> dict[str, Any]:
    data = body.model_dump() if hasattr(body, "model_dump") else body.dict()
    table = do_replace_routing_table(_factory(request), data, actor=str(principal), categories=CATEGORIES)
    return table_to_dict(table)

"""Back-office JSON API: cases (``/api/cases``) and the health check.

PII policy (ID and phone numbers, contract "masked unless the caller's role may see them"):
- lists are always masked, except for an admin asking ``?reveal=1``;
- a case's detail is unmasked for an admin by default (``?reveal=0`` masks it), masked for staff;
- ``reveal`` from a role that may not see PII is ignored (the answer says ``pii_masked: true``);
- every unmasked answer goes through ``bot.cases.privacy.do_reveal_identity``: a
  ``view_identity`` audit row per case (who, when) and a line in the ``bot.backoffice.pii_access`` log;
- an accusation (检举控告) seen by staff of the accused unit hides the petitioner's identity
  altogether (``identity_hidden: true``); see bot/cases/privacy.py.
"""
from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import sessionmaker

from bot.backoffice.auth import CurrentPrincipal
from bot.cases.channel import Channel
from bot.cases.db import check_database
from bot.cases.privacy import department_of, do_reveal_identities, do_reveal_identity, may_see_identity
from bot.cases.serialize import case_to_dict_for
from bot.cases.service import MAX_LIST_LIMIT, get_case, list_cases
from bot.cases.status import CaseStatus
from bot.cases.workflow import NEAR_DUE_DAYS
from bot.errors import PetitionError

pii_log = logging.getLogger("bot.backoffice.pii_access")


class ErrorOut(BaseModel):
    code: str
    detail: str
    message: str


class CaseOut(BaseModel):
    case_no: str
    status: CaseStatus
    status_label: str
    channel: str
    sender_id: str | None
    conversation_id: str | None
    petition_type: str | None
    petitioner_name: str | None
    id_number: str | None = Field(None, description="masked (110105********002X) unless revealed")
    phone: str | None = Field(None, description="masked (138****5678) unless revealed")
    address: str | None
    issue_region: str | None
    category: str | None
    respondent: str | None
    occurred_on: str | None
    facts: str | None
    demand: str | None
    people_count: int | None
    prior_procedure: str | None
    consent: bool
    confirm: bool
    is_joint: bool
    legal_channel: str | None
    legal_channel_alternatives: list[str]
    triage_rule_id: str | None
    triage_version: str | None
    created_at: str = Field(..., description="ISO 8601, UTC")
    updated_at: str = Field(..., description="ISO 8601, UTC")
    due_at: str | None = Field(None, description="statutory deadline, ISO 8601, UTC")
    due_date: str | None = Field(None, description="deadline as a China (Asia/Shanghai) date")
    pii_masked: bool
    identity_hidden: bool = Field(False, description="accusation seen by staff of the accused unit: identity hidden")
    # workflow (bot/cases/workflow.py, docs/cases.md)
    department_code: str | None = Field(None, description="department the case is routed to")
    assignee: str | None = Field(None, description="member of staff holding the case")
    claimed_at: str | None = None
    joint: bool = False
    linked_case_no: str | None = Field(None, description="earlier case about the same matter")
    due_state: str | None = Field(None, description="overdue | near_due | null")
    accepted_at: str | None = None
    extended: bool = False
    extension_reason: str | None = None
    not_accepted_reason: str | None = None
    suggested_channel: str | None = None
    answer_text: str | None = None
    answered_at: str | None = None
    review_answer_text: str | None = None
    review_answered_at: str | None = None
    recheck_answer_text: str | None = None
    recheck_answered_at: str | None = None
    closed_at: str | None = None
    satisfaction: int | None = None


class CaseEventOut(BaseModel):
    at: str
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None


class CaseDetailOut(CaseOut):
    transcript: list[dict[str, Any]]
    events: list[CaseEventOut]


class CaseListOut(BaseModel):
    items: list[CaseOut]
    total: int
    limit: int
    offset: int


class HealthOut(BaseModel):
    status: str
    database: str


ERRORS: dict[int | str, dict[str, Any]] = {401: {"model": ErrorOut}, 422: {"model": ErrorOut}}


def _session_factory(request: Request) -> sessionmaker:
    factory: sessionmaker = request.app.state.session_factory
    return factory


health_router = APIRouter(tags=["health"])
cases_router = APIRouter(prefix="/api/cases", tags=["cases"])


@health_router.get("/healthz", response_model=HealthOut, responses={503: {"model": ErrorOut}})
def healthz(request: Request) -> Any:
    """Liveness and database reachability; no authentication."""
    try:
        check_database(_session_factory(request))
    except PetitionError as exc:
        return JSONResponse(status_code=exc.http_status, content={**exc.to_dict(), "status": "unavailable"})
    return {"status": "ok", "database": "ok"}


@cases_router.get("", response_model=CaseListOut, responses=ERRORS, summary="List cases (案件列表)")
def api_list_cases(
    request: Request,
    principal: CurrentPrincipal,
    status: Annotated[CaseStatus | None, Query(description="status code")] = None,
    channel: Annotated[Channel | None, Query()] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    reveal: Annotated[bool, Query(description="admin only: show ID and phone numbers unmasked")] = False,
    region: Annotated[str | None, Query(max_length=200, description="issue_region prefix, e.g. 广东省广州市")] = None,
    department: Annotated[str | None, Query(max_length=32, description="routing department code")] = None,
    due: Annotated[Literal["overdue", "near_due"] | None, Query()] = None,
    joint: Annotated[bool | None, Query(description="joint petitions (more than one person)")] = None,
    claimed_by: Annotated[str | None, Query(max_length=200, description="staff name, or '-' for unclaimed")] = None,
    q: Annotated[str | None, Query(max_length=100, description="text in number, name, respondent, facts, demand")] = None,
    sort: Annotated[Literal["newest", "oldest", "due", "updated"], Query()] = "newest",
) -> Any:
    items, total = list_cases(
        _session_factory(request),
        status=status,
        channel=channel.value if channel else None,
        category=category,
        region=region,
        department=department,
        due=due,
        joint=joint,
        claimed_by=claimed_by,
        q=q,
        sort=sort,
        near_days=getattr(request.app.state.settings, "near_due_days", NEAR_DUE_DAYS),
        limit=limit,
        offset=offset,
    )
    department = department_of(principal)
    revealed: set[str] = set()
    if reveal and principal.may_see_pii and items:
        revealed = set(do_reveal_identities(_session_factory(request), [c.case_no for c in items], principal))
        pii_log.info("%s listed %d cases unmasked: %s", principal, len(revealed), ",".join(sorted(revealed)))
    return {
        "items": [
            case_to_dict_for(c, principal.role, department, revealed=c.case_no in revealed,
                             pii_scope=principal.may_see_pii)
            for c in items
        ],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@cases_router.get(
    "/{case_no}",
    response_model=CaseDetailOut,
    responses={**ERRORS, 404: {"model": ErrorOut}},
    summary="One case with transcript and history (案件详情)",
)
def api_get_case(
    request: Request,
    case_no: str,
    principal: CurrentPrincipal,
    reveal: Annotated[
        bool | None, Query(description="admin: unmasked unless reveal=0; staff: always masked")
    ] = None,
) -> Any:
    case = get_case(_session_factory(request), case_no)
    department = department_of(principal)
    revealed = reveal is not False and may_see_identity(
        case, principal.role, department, pii_scope=principal.may_see_pii
    )
    if revealed:
        do_reveal_identity(_session_factory(request), case.case_no, principal)  # audit row first
        pii_log.info("%s viewed case %s unmasked", principal, case.case_no)
    return case_to_dict_for(
        case, principal.role, department, revealed=revealed, pii_scope=principal.may_see_pii,
        include_transcript=True, include_events=True,
    )

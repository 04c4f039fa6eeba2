"""Back-office JSON API: cases (``/api/cases``) and the health check.

PII policy (ID and phone numbers, contract "masked unless the caller's role may see them"):
- lists are always masked, except for an admin asking ``?reveal=1``;
- a case's detail is unmasked for an admin by default (``?reveal=0`` masks it), masked for staff;
- ``reveal`` from a role that may not see PII is ignored (the answer says ``pii_masked: true``);
- every unmasked answer is written to the ``bot.backoffice.pii_access`` log (who, what, when).
"""
from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import sessionmaker

from bot.backoffice.auth import CurrentPrincipal
from bot.cases.channel import Channel
from bot.cases.db import check_database
from bot.cases.serialize import case_to_dict
from bot.cases.service import MAX_LIST_LIMIT, get_case, list_cases
from bot.cases.status import CaseStatus
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
) -> Any:
    items, total = list_cases(
        _session_factory(request),
        status=status,
        channel=channel.value if channel else None,
        category=category,
        limit=limit,
        offset=offset,
    )
    unmasked = reveal and principal.may_see_pii
    if unmasked and items:
        pii_log.info("%s listed %d cases unmasked: %s", principal, len(items), ",".join(c.case_no for c in items))
    return {
        "items": [case_to_dict(c, reveal_pii=unmasked) for c in items],
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
    unmasked = principal.may_see_pii and reveal is not False
    if unmasked:
        pii_log.info("%s viewed case %s unmasked", principal, case.case_no)
    return case_to_dict(case, reveal_pii=unmasked, include_transcript=True, include_events=True)

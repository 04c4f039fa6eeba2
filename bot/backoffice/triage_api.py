"""``POST /api/triage``: the legal-channel engine the chat uses, for staff tools."""
from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from bot.backoffice.auth import CurrentPrincipal
from bot.triage import triage

triage_router = APIRouter(prefix="/api", tags=["triage"])


class TriageIn(BaseModel):
    text: str = Field("", max_length=20000, description="the citizen's account in free text")
    answers: dict[str, Any] = Field(default_factory=dict, description="answers to earlier questions")
    today: date | None = Field(None, description="reference date (defaults to today, Asia/Shanghai)")


class TriageOut(BaseModel):
    legal_channel: str
    legal_channel_alternatives: list[str]
    questions: list[dict[str, Any]]
    explanation: str
    citations: list[dict[str, str]]
    deadline: dict[str, Any]
    rule_id: str
    table_version: str
    where: str
    disclaimer: str


@triage_router.post("/triage", response_model=TriageOut)
def post_triage(body: TriageIn, principal: CurrentPrincipal) -> dict[str, Any]:
    """Which legal channel fits, why (law + article), the deadline and what is still unknown."""
    return triage(body.text, body.answers, body.today).to_dict()

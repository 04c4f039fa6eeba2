"""``POST /api/intake/parse``: petition fields read from a transcribed letter or call."""
from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from bot.backoffice.auth import CurrentPrincipal
from bot.cases.deadlines import local_date, utcnow
from bot.intake.parse import parse_free_text

intake_router = APIRouter(prefix="/api/intake", tags=["intake"])


class ParseIn(BaseModel):
    text: str = Field(..., max_length=50000, description="free text: a letter, a call note, a long message")
    today: date | None = Field(None, description="reference date for relative dates (default: today in China)")


@intake_router.post("/parse")
def post_parse(body: ParseIn, principal: CurrentPrincipal) -> dict[str, Any]:
    """Every field that can be read; a field is present only when found (same parsers as the chat)."""
    return parse_free_text(body.text, body.today or local_date(utcnow()))

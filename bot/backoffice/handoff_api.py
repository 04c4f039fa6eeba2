"""Human handoff API: staff see waiting chats, take one over, write to the citizen, release it.

Messages to the citizen go through the outbox (``bot.handoff.service``); while a member of
staff holds a chat the channels keep the bot quiet for that citizen.
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import sessionmaker

from bot.backoffice.auth import CurrentPrincipal
from bot.handoff.models import Handoff, HandoffMessage, HandoffState
from bot.handoff.service import (
    OPEN_STATES,
    do_release,
    do_staff_message,
    do_take_over,
    get_handoff,
    list_handoffs,
)

handoff_router = APIRouter(prefix="/api/handoffs", tags=["handoff"])


class HandoffMessageOut(BaseModel):
    id: int
    role: str
    author: str
    text: str
    at: str


class HandoffOut(BaseModel):
    id: int
    channel: str
    sender_id: str
    state: str
    state_label: str
    reason: str | None
    requested_at: str
    taken_by: str | None
    last_message_at: str


class HandoffDetailOut(HandoffOut):
    messages: list[HandoffMessageOut]


class StaffMessageIn(BaseModel):
    text: str = Field(..., min_length=1, max_length=4000)


def _factory(request: Request) -> sessionmaker:
    factory: sessionmaker = request.app.state.session_factory
    return factory


def handoff_to_dict(handoff: Handoff, *, with_messages: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": handoff.id,
        "channel": handoff.channel,
        "sender_id": handoff.sender_id,
        "state": handoff.state,
        "state_label": HandoffState(handoff.state).label,
        "reason": handoff.reason,
        "requested_at": handoff.requested_at.isoformat(),
        "taken_by": handoff.taken_by,
        "last_message_at": handoff.last_message_at.isoformat(),
    }
    if with_messages:
        data["messages"] = [message_to_dict(m) for m in handoff.messages]
    return data


def message_to_dict(message: HandoffMessage) -> dict[str, Any]:
    return {"id": message.id, "role": message.role, "author": message.author, "text": message.text,
            "at": message.at.isoformat()}


@handoff_router.get("", response_model=list[HandoffOut], summary="Chats waiting for or held by staff (人工服务)")
def api_list_handoffs(
    request: Request,
    principal: CurrentPrincipal,
    state: Annotated[list[HandoffState] | None, Query()] = None,
) -> Any:
    states = [s.value for s in state] if state else list(OPEN_STATES)
    return [handoff_to_dict(h) for h in list_handoffs(_factory(request), states)]


@handoff_router.get("/{handoff_id}", response_model=HandoffDetailOut)
def api_get_handoff(request: Request, handoff_id: int, principal: CurrentPrincipal) -> Any:
    return handoff_to_dict(get_handoff(_factory(request), handoff_id), with_messages=True)


@handoff_router.post("/{handoff_id}/take", response_model=HandoffOut, summary="Take the chat over (接入)")
def api_take(request: Request, handoff_id: int, principal: CurrentPrincipal) -> Any:
    return handoff_to_dict(do_take_over(_factory(request), handoff_id, str(principal), principal.name))


@handoff_router.post("/{handoff_id}/messages", response_model=HandoffMessageOut, status_code=201)
def api_message(request: Request, handoff_id: int, body: StaffMessageIn, principal: CurrentPrincipal) -> Any:
    return message_to_dict(do_staff_message(_factory(request), handoff_id, str(principal), body.text))


@handoff_router.post("/{handoff_id}/release", response_model=HandoffOut, summary="Give the chat back to the bot")
def api_release(request: Request, handoff_id: int, principal: CurrentPrincipal) -> Any:
    return handoff_to_dict(do_release(_factory(request), handoff_id, str(principal)))

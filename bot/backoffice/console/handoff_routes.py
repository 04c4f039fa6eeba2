"""Console pages of the human handoff (人工服务): waiting chats, take over, relay, release."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.backoffice.console.render import render
from bot.backoffice.console.security import Posted, current_session, factory_of, posted_form
from bot.backoffice.users import ConsoleSession
from bot.errors import PetitionError
from bot.handoff.models import HandoffState
from bot.handoff.service import (
    MAX_MESSAGE,
    OPEN_STATES,
    do_release,
    do_staff_message,
    do_take_over,
    get_handoff,
    list_handoffs,
)

router = APIRouter(prefix="/console", include_in_schema=False)
STATE_NAMES = {s.value: s.label for s in HandoffState}
DONE = {"taken": "您已接入，智能助手在这个会话中暂停回复。", "sent": "消息已进入发送队列。",
        "released": "已结束人工服务，智能助手恢复回复。"}


@router.get("/handoffs", response_class=HTMLResponse)
def handoff_list(request: Request, me: Annotated[ConsoleSession, Depends(current_session)]) -> Response:
    items = list_handoffs(factory_of(request), OPEN_STATES)
    return render(request, "handoffs.html", {"nav": "handoffs", "items": items, "state_names": STATE_NAMES},
                  session=me)


def _page(request: Request, me: ConsoleSession, handoff_id: int, *, error: str | None = None,
          status_code: int = 200, text: str = "") -> Response:
    handoff = get_handoff(factory_of(request), handoff_id)
    context = {
        "nav": "handoffs", "handoff": handoff, "state_names": STATE_NAMES, "error": error, "text": text,
        "mine": handoff.state == HandoffState.HELD.value and handoff.taken_by == me.actor,
        "notice": DONE.get(request.query_params.get("done", "")), "max_message": MAX_MESSAGE,
    }
    return render(request, "handoff.html", context, session=me, status_code=status_code)


@router.get("/handoffs/{handoff_id}", response_class=HTMLResponse)
def handoff_page(request: Request, handoff_id: int,
                 me: Annotated[ConsoleSession, Depends(current_session)]) -> Response:
    return _page(request, me, handoff_id)


@router.post("/handoffs/{handoff_id}/take", response_class=HTMLResponse)
def handoff_take(request: Request, handoff_id: int, posted: Annotated[Posted, Depends(posted_form)]) -> Response:
    me = posted.session
    try:
        do_take_over(factory_of(request), handoff_id, me.actor, me.display_name)
    except PetitionError as exc:
        return _page(request, me, handoff_id, error=exc.user_message, status_code=exc.http_status)
    return RedirectResponse(f"/console/handoffs/{handoff_id}?done=taken", status_code=303)


@router.post("/handoffs/{handoff_id}/messages", response_class=HTMLResponse)
def handoff_message(request: Request, handoff_id: int, posted: Annotated[Posted, Depends(posted_form)]) -> Response:
    me = posted.session
    text = posted.get("text")
    try:
        do_staff_message(factory_of(request), handoff_id, me.actor, text)
    except PetitionError as exc:
        return _page(request, me, handoff_id, error=exc.user_message, status_code=exc.http_status, text=text)
    return RedirectResponse(f"/console/handoffs/{handoff_id}?done=sent", status_code=303)


@router.post("/handoffs/{handoff_id}/release", response_class=HTMLResponse)
def handoff_release(request: Request, handoff_id: int, posted: Annotated[Posted, Depends(posted_form)]) -> Response:
    me = posted.session
    try:
        do_release(factory_of(request), handoff_id, me.actor)
    except PetitionError as exc:
        return _page(request, me, handoff_id, error=exc.user_message, status_code=exc.http_status)
    return RedirectResponse(f"/console/handoffs/{handoff_id}?done=released", status_code=303)

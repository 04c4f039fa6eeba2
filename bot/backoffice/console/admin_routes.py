"""Admin pages: users (create, edit, password, disable, unlock), API tokens, departments, audit."""
from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.backoffice.console.render import render
from bot.backoffice.console.security import Posted, admin_session, factory_of, posted_admin_form
from bot.backoffice.users import (
    SCOPES,
    ConsoleSession,
    do_create_token,
    do_create_user,
    do_revoke_token,
    do_set_active,
    do_set_password,
    do_unlock_user,
    do_update_user,
    list_tokens,
    list_user_events,
    list_users,
)
from bot.cases.deadlines import utcnow
from bot.cases.departments import do_replace_routing_table, get_routing_table
from bot.cases.routing import RoutingTable, table_to_dict
from bot.cases.service import CATEGORIES
from bot.errors import NotFound, PetitionError

router = APIRouter(prefix="/console/admin", include_in_schema=False)

NOTICES = {
    "created": "用户已创建，请把初始密码当面或通过安全渠道告诉对方。",
    "updated": "用户信息已保存。",
    "password": "密码已修改，该用户原有的登录已全部退出。",
    "disabled": "账号已停用，该用户的登录和令牌立即失效。",
    "enabled": "账号已启用。",
    "unlocked": "账号已解除锁定。",
    "revoked": "令牌已吊销，立即失效。",
    "routing": "部门和分派规则已保存，新登记的案件按新规则分派。",
}


def _table(request: Request) -> RoutingTable:
    return get_routing_table(factory_of(request))


def _page(request: Request, me: ConsoleSession, *, notice: str | None = None, error: str | None = None,
          new_token: str | None = None, status_code: int = 200) -> Response:
    factory = factory_of(request)
    now = utcnow()
    table = _table(request)
    return render(
        request, "admin_users.html",
        {
            "nav": "admin", "users": list_users(factory), "tokens": list_tokens(factory),
            "events": list_user_events(factory, limit=50), "scopes": SCOPES,
            "departments": [(d.code, d.name) for d in table.departments if d.active], "table": table,
            "notice": notice, "error": error, "new_token": new_token, "now": now,
        },
        session=me, status_code=status_code,
    )


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, me: Annotated[ConsoleSession, Depends(admin_session)]) -> Response:
    return _page(request, me, notice=NOTICES.get(request.query_params.get("done", "")))


def _done(what: str) -> Response:
    return RedirectResponse(f"/console/admin/users?done={what}", status_code=303)


@router.post("/users", response_class=HTMLResponse)
def create_user(request: Request, posted: Annotated[Posted, Depends(posted_admin_form)]) -> Response:
    try:
        do_create_user(
            factory_of(request), posted.get("username"), posted.get("password"), role=posted.get("role", "staff"),
            display_name=posted.get("display_name"), department_code=posted.get("department_code") or None,
            actor=posted.session.actor,
        )
    except PetitionError as exc:
        return _page(request, posted.session, error=exc.user_message, status_code=exc.http_status)
    return _done("created")


@router.post("/users/{username}/update", response_class=HTMLResponse)
def update_user(request: Request, username: str, posted: Annotated[Posted, Depends(posted_admin_form)]) -> Response:
    try:
        do_update_user(
            factory_of(request), username, display_name=posted.get("display_name"), role=posted.get("role") or None,
            department_code=posted.get("department_code"), actor=posted.session.actor,
        )
    except PetitionError as exc:
        return _page(request, posted.session, error=exc.user_message, status_code=exc.http_status)
    return _done("updated")


@router.post("/users/{username}/password", response_class=HTMLResponse)
def set_password(request: Request, username: str, posted: Annotated[Posted, Depends(posted_admin_form)]) -> Response:
    try:
        do_set_password(factory_of(request), username, posted.get("password"), actor=posted.session.actor)
    except PetitionError as exc:
        return _page(request, posted.session, error=exc.user_message, status_code=exc.http_status)
    return _done("password")


@router.post("/users/{username}/active", response_class=HTMLResponse)
def set_active(request: Request, username: str, posted: Annotated[Posted, Depends(posted_admin_form)]) -> Response:
    active = posted.get("active") == "1"
    if not active and username == posted.session.username:
        return _page(request, posted.session, error="不能停用自己正在使用的账号。", status_code=409)
    try:
        do_set_active(factory_of(request), username, active, actor=posted.session.actor)
    except PetitionError as exc:
        return _page(request, posted.session, error=exc.user_message, status_code=exc.http_status)
    return _done("enabled" if active else "disabled")


@router.post("/users/{username}/unlock", response_class=HTMLResponse)
def unlock_user(request: Request, username: str, posted: Annotated[Posted, Depends(posted_admin_form)]) -> Response:
    try:
        do_unlock_user(factory_of(request), username, actor=posted.session.actor)
    except PetitionError as exc:
        return _page(request, posted.session, error=exc.user_message, status_code=exc.http_status)
    return _done("unlocked")


@router.post("/tokens", response_class=HTMLResponse)
def create_token(request: Request, posted: Annotated[Posted, Depends(posted_admin_form)]) -> Response:
    try:
        token, row = do_create_token(
            factory_of(request), posted.get("username"), posted.lists.get("scope", []), name=posted.get("name"),
            actor=posted.session.actor,
        )
    except PetitionError as exc:
        return _page(request, posted.session, error=exc.user_message, status_code=exc.http_status)
    return _page(request, posted.session, notice=f"令牌 #{row.id} 已创建。它只显示这一次，请立即复制保存。", new_token=token)


@router.post("/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(request: Request, token_id: int, posted: Annotated[Posted, Depends(posted_admin_form)]) -> Response:
    try:
        do_revoke_token(factory_of(request), token_id, actor=posted.session.actor)
    except PetitionError as exc:
        return _page(request, posted.session, error=exc.user_message, status_code=exc.http_status)
    return _done("revoked")


def _save_table(request: Request, posted: Posted, change: Callable[[dict[str, Any]], None]) -> Response:
    data = table_to_dict(_table(request))
    try:
        change(data)
        do_replace_routing_table(factory_of(request), data, actor=posted.session.actor, categories=CATEGORIES)
    except PetitionError as exc:
        return _page(request, posted.session, error=exc.user_message, status_code=exc.http_status)
    return _done("routing")


@router.post("/departments", response_class=HTMLResponse)
def save_department(request: Request, posted: Annotated[Posted, Depends(posted_admin_form)]) -> Response:
    """Add a department, or rename / switch on or off the one with this code."""
    code, name, active = posted.get("code").strip(), posted.get("name").strip(), posted.get("active") == "1"

    def change(data: dict[str, Any]) -> None:
        for item in data["departments"]:
            if item["code"] == code:
                item.update(name=name or item["name"], active=active)
                return
        data["departments"].append({"code": code, "name": name, "active": active})

    return _save_table(request, posted, change)


@router.post("/rules", response_class=HTMLResponse)
def add_rule(request: Request, posted: Annotated[Posted, Depends(posted_admin_form)]) -> Response:
    try:
        priority = int(posted.get("priority") or "0")
    except ValueError:
        return _page(request, posted.session, error="优先级必须是整数。", status_code=422)
    rule = {"region": posted.get("region").strip(), "category": posted.get("category").strip(),
            "department": posted.get("department").strip(), "priority": priority}
    return _save_table(request, posted, lambda data: data["rules"].append(rule))


@router.post("/rules/{index}/delete", response_class=HTMLResponse)
def delete_rule(request: Request, index: int, posted: Annotated[Posted, Depends(posted_admin_form)]) -> Response:
    def change(data: dict[str, Any]) -> None:
        if not 0 <= index < len(data["rules"]):
            raise NotFound(f"rule {index} not found", user_message="没有找到这条规则，请刷新页面后再试。")
        del data["rules"][index]

    return _save_table(request, posted, change)

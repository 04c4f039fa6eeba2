"""Login and logout of the console."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.backoffice.console.render import render
from bot.backoffice.console.security import (
    COOKIE_PATH,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Posted,
    check_login_csrf,
    client_ip,
    factory_of,
    policy_of,
    posted_form,
    safe_next,
    settings_of,
)
from bot.backoffice.users import LoginFailed, LoginThrottled, do_login, do_logout, get_session, new_secret

router = APIRouter(prefix="/console", include_in_schema=False)


def _login_page(request: Request, next_path: str, *, error: str | None = None, username: str = "",
                status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    token = new_secret()
    response = render(
        request, "login.html",
        {"login_csrf": token, "next": next_path, "username": username, "error": error,
         "bye": request.query_params.get("bye") == "1"},
        status_code=status_code, headers=headers,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path=COOKIE_PATH + "/login",
        secure=settings_of(request).console_cookie_secure, max_age=3600,
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "") -> Response:
    next_path = safe_next(next)
    if get_session(factory_of(request), request.cookies.get(SESSION_COOKIE), policy=policy_of(request)):
        return RedirectResponse(next_path, status_code=303)
    return _login_page(request, next_path)


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    next_path = safe_next(next)
    if not check_login_csrf(request, csrf_token):
        return _login_page(request, next_path, username=username, status_code=403,
                           error="登录页面已过期，请重新输入用户名和密码。")
    if not username.strip() or not password:
        return _login_page(request, next_path, username=username, status_code=400, error="请输入用户名和密码。")
    settings = settings_of(request)
    try:
        result = do_login(
            factory_of(request), username, password, ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""), policy=policy_of(request),
        )
    except LoginThrottled as exc:
        return _login_page(request, next_path, username=username, status_code=429, error=exc.user_message,
                           headers={"Retry-After": str(exc.retry_after)})
    except LoginFailed as exc:
        return _login_page(request, next_path, username=username, status_code=401, error=exc.user_message)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE, result.token, httponly=True, samesite="lax", path=COOKIE_PATH,
        secure=settings.console_cookie_secure, max_age=int(policy_of(request).session_max_age.total_seconds()),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=COOKIE_PATH + "/login")
    return response


@router.post("/logout")
def logout(request: Request, posted: Annotated[Posted, Depends(posted_form)]) -> Response:
    do_logout(factory_of(request), request.cookies.get(SESSION_COOKIE), ip=client_ip(request))
    response = RedirectResponse(COOKIE_PATH + "/login?bye=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


@router.get("", include_in_schema=False)
def console_root() -> Response:
    return RedirectResponse(COOKIE_PATH + "/", status_code=307)

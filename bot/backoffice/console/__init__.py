"""The staff web console under ``/console`` (server-rendered HTML, no build step, no CDN).

``install_console(app)`` attaches everything: the routers, the static files under
``/console/static``, the security headers and the HTML error pages. Errors raised on a
console path become a page; every other path keeps the app's JSON errors.
See docs/console.md.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.backoffice.console.render import HERE, render
from bot.backoffice.console.security import (
    PREFIX,
    ConsoleDenied,
    LoginRequired,
    SecurityHeadersMiddleware,
    login_url,
)
from bot.backoffice.error_text import shown_message
from bot.errors import PetitionError

Handler = Callable[[Request, Any], Awaitable[Response] | Response]

_HEADINGS = {400: "请求有误", 401: "请先登录", 403: "无法进行这个操作", 404: "没有找到", 409: "操作冲突",
             422: "填写的内容有误", 429: "操作太频繁", 503: "系统正忙"}


def _is_console(request: Request) -> bool:
    path = request.url.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def _error_page(request: Request, status: int, message: str) -> Response:
    session = getattr(request.state, "console_session", None)
    back = request.headers.get("referer") or PREFIX + "/"
    if not back.startswith(str(request.base_url).rstrip("/") + PREFIX) and not back.startswith(PREFIX):
        back = PREFIX + "/"
    return render(
        request, "error.html",
        {"heading": _HEADINGS.get(status, "无法完成"), "message": message, "back": back},
        session=session, status_code=status,
    )


def install_console(app: FastAPI) -> None:
    from bot.backoffice.console import (
        admin_routes,
        auth_routes,
        case_routes,
        dashboard_routes,
        handoff_routes,
    )

    app.include_router(auth_routes.router)
    app.include_router(case_routes.router)
    app.include_router(dashboard_routes.router)
    app.include_router(admin_routes.router)
    app.include_router(handoff_routes.router)
    app.mount(PREFIX + "/static", StaticFiles(directory=str(HERE / "static")), name="console-static")
    app.add_middleware(SecurityHeadersMiddleware)

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    async def denied(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ConsoleDenied)
        return _error_page(request, exc.status_code, exc.message)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(ConsoleDenied, denied)

    # errors on console paths: a page; elsewhere the app's JSON handler as before
    for exc_class, message_of in (
        (PetitionError, lambda r, e: (e.http_status, shown_message(r, e))),
        (StarletteHTTPException, lambda r, e: (e.status_code, "没有找到您要的页面。" if e.status_code == 404
                                               else "请求未能完成，请返回后重试。")),
        (RequestValidationError, lambda r, e: (422, "填写的内容不符合要求，请返回检查后再提交。")),
    ):
        previous = app.exception_handlers.get(exc_class)

        def make(previous: Any = previous, message_of: Any = message_of) -> Callable[..., Awaitable[Response]]:
            async def handler(request: Request, exc: Exception) -> Response:
                if _is_console(request) or previous is None:
                    status, message = message_of(request, exc)
                    return _error_page(request, status, message)
                result = previous(request, exc)
                if isinstance(result, Awaitable):
                    result = await result
                return result  # type: ignore[no-any-return]

            return handler

        app.add_exception_handler(exc_class, make())

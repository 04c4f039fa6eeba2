"""The back-office ASGI app: ``create_app(settings, session_factory)``.

Errors: every :class:`bot.errors.PetitionError` becomes ``{code, detail, message}`` with its
HTTP status; request validation errors are 422 with a Chinese ``message``; unknown routes
404 in the same shape. Routers are attached in :func:`register_routers` only.
"""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.backoffice.api import cases_router, health_router
from bot.backoffice.attachments_api import attachments_router
from bot.backoffice.auth import TokenAuthenticator
from bot.backoffice.console import install_console
from bot.backoffice.console.training_pages import router as training_pages_router
from bot.backoffice.error_text import shown_message
from bot.backoffice.handoff_api import handoff_router
from bot.backoffice.intake_api import intake_router
from bot.backoffice.limits import install_input_limits
from bot.backoffice.queue_api import queue_router
from bot.backoffice.retention_job import retention_schedule
from bot.backoffice.training_api import training_router
from bot.backoffice.triage_api import triage_router
from bot.cases.db import make_engine, make_session_factory, migrate
from bot.channels.outbox_worker import outbox_dispatch
from bot.errors import PetitionError
from bot.settings import Settings, get_settings

__version__ = "0.1.0"
log = logging.getLogger(__name__)

_HTTP_CODES = {
    401: ("unauthorized", "请先登录。"),
    403: ("forbidden", "您没有权限进行这个操作。"),
    404: ("not_found", "没有找到您要的内容。"),
    405: ("method_not_allowed", "不支持这种请求方式。"),
}


def register_routers(app: FastAPI) -> None:
    """Every router of the back-office, in one place."""
    app.include_router(health_router)
    app.include_router(cases_router)
    app.include_router(triage_router)
    app.include_router(training_router)  # admin loop: inbox, training, promotion (docs/admin.md)
    app.include_router(training_pages_router)  # its console pages under /console/training
    app.include_router(intake_router)
    app.include_router(handoff_router)
    app.include_router(attachments_router)
    app.include_router(queue_router)
    install_console(app)  # staff console under /console: routes, static files, security headers


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PetitionError)
    async def _petition_error(request: Request, exc: PetitionError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
        if exc.http_status >= 500:
            log.warning("request failed: %s %s", exc.code, exc.detail)
        content = {**exc.to_dict(), "message": shown_message(request, exc)}
        return JSONResponse(status_code=exc.http_status, content=content, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        detail = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', '')}" for err in errors
        )
        return JSONResponse(
            status_code=422,
            content={
                "code": "invalid_input",
                "detail": detail or "invalid request",
                "message": "请求参数不正确，请核对后再试。",
                "errors": [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors],
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message = _HTTP_CODES.get(exc.status_code, ("http_error", "请求未能完成。"))
        return JSONResponse(
            status_code=exc.status_code,
            content={"code": code, "detail": str(exc.detail), "message": message},
            headers=getattr(exc, "headers", None),
        )


def create_app(settings: Settings | None = None, session_factory: sessionmaker | None = None) -> FastAPI:
    """The back-office app. Without ``session_factory`` it builds its own engine from
    ``settings.database_url`` and migrates the schema on startup (disposed on shutdown)."""
    settings = settings or get_settings()
    engine: Engine | None = None
    if session_factory is None:
        engine = make_engine(settings.database_url)
        session_factory = make_session_factory(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if engine is not None:
            await run_in_threadpool(migrate, engine)
        try:
            async with outbox_dispatch(settings, session_factory) as dispatcher, \
                    retention_schedule(settings, session_factory):  # OUTBOX_DISPATCH, RETENTION_EVERY_HOURS
                _app.state.outbox_dispatcher = dispatcher
                yield
        finally:
            if engine is not None:
                engine.dispose()

    app = FastAPI(
        title="信访助手后台 Petition assistant back-office",
        description="Case queue API of the citizen petition (信访) assistant. "
        "Authenticate with `Authorization: Bearer <token>`.",
        version=__version__,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.session_factory = session_factory
    app.state.authenticator = TokenAuthenticator.from_settings(settings, session_factory)
    install_error_handlers(app)
    install_input_limits(app, settings)  # 413 for large bodies, 400 for malformed JSON
    register_routers(app)
    return app



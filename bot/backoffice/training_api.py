"""Admin loop API (admins only): NLU inbox, labelling, training runs, promotion, rollback.

The console pages (``bot.backoffice.console.training_pages``) and the CLI (``bot train`` …)
call the same services in :mod:`bot.training`; see docs/admin.md.
"""
from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import sessionmaker

from bot.backoffice.auth import Principal, Role, require_role
from bot.errors import PetitionError
from bot.settings import Settings
from bot.training import audit, inbox, promotion, runs
from bot.training.models import InboxItem, ModelPromotion, RunState, TrainingRun

training_router = APIRouter(prefix="/api/training", tags=["training"])
Admin = Annotated[Principal, Depends(require_role(Role.ADMIN))]
_worker_lock = threading.Lock()


def _factory(request: Request) -> sessionmaker:
    factory: sessionmaker = request.app.state.session_factory
    return factory


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def training_worker(request: Request) -> runs.TrainingWorker:
    """The app's training worker (runs training in a background thread), created on first use."""
    state = request.app.state
    with _worker_lock:
        worker: runs.TrainingWorker | None = getattr(state, "training_worker", None)
        if worker is None:
            worker = runs.TrainingWorker(_factory(request), _settings(request))
            state.training_worker = worker
    return worker


def start_training(request: Request, by: str) -> TrainingRun:
    worker = training_worker(request)
    run = runs.do_request_training(_factory(request), by=by)
    try:
        worker.start(run.id)
    except PetitionError as exc:
        runs.do_fail_run(_factory(request), run.id, exc.user_message)
        raise
    return run


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# ---- schemas -----------------------------------------------------------------------------------
class InboxItemOut(BaseModel):
    id: int
    text: str
    predicted_intent: str | None
    confidence: float | None
    reason: str
    channel: str
    at: str
    status: str
    label_intent: str | None


class InboxGroupOut(BaseModel):
    group_key: str
    count: int
    sample: str
    reasons: dict[str, int]
    predicted: dict[str, int]
    items: list[InboxItemOut]


class InboxOut(BaseModel):
    counts: dict[str, int]
    groups: list[InboxGroupOut]


class EntityIn(BaseModel):
    start: int = Field(..., ge=0)
    end: int = Field(..., ge=1)
    entity: str = Field(..., min_length=1, max_length=63)
    value: str | None = Field(None, max_length=200)


class LabelIn(BaseModel):
    ids: list[int] | None = Field(None, max_items=500)
    group_key: str | None = Field(None, max_length=32)
    intent: str = Field(..., min_length=1, max_length=100)
    create_intent: bool = False
    entities: list[EntityIn] | None = Field(None, max_items=20)


class LabelOut(BaseModel):
    intent: str
    count: int
    files: list[str]
    created_intent: bool
    notice: str


class DismissIn(BaseModel):
    ids: list[int] | None = Field(None, max_items=500)
    group_key: str | None = Field(None, max_length=32)
    note: str | None = Field(None, max_length=500)


class CountOut(BaseModel):
    count: int


class RunOut(BaseModel):
    id: int
    state: str
    state_label: str
    step: str | None
    progress: int
    requested_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    data_hash: str | None
    model_file: str | None
    live_model: str | None
    error: str | None
    log_tail: str | None
    gate_passed: bool | None
    metrics: dict[str, Any] | None = None


class RollbackIn(BaseModel):
    model_file: str | None = Field(None, max_length=200)


class PromotionOut(BaseModel):
    id: int
    kind: str
    model_file: str
    previous_model_file: str | None
    run_id: int | None
    by: str
    at: str
    rolled_back_at: str | None


class ModelOut(BaseModel):
    file_name: str
    exists: bool
    live: bool
    run_id: int | None
    created_at: str
    last_promoted_at: str | None


class ModelsOut(BaseModel):
    live_model: str | None
    live_error: str | None
    max_f1_drop: float
    models: list[ModelOut]
    history: list[PromotionOut]


class EventOut(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    inbox_id: int | None
    run_id: int | None
    model_file: str | None
    note: str | None


def item_out(item: InboxItem) -> InboxItemOut:
    return InboxItemOut(
        id=item.id, text=item.text_masked, predicted_intent=item.predicted_intent, confidence=item.confidence,
        reason=item.reason, channel=item.channel, at=item.at.isoformat(), status=item.status,
        label_intent=item.label_intent,
    )


def run_out(run: TrainingRun, *, with_metrics: bool = False, max_drop: float | None = None) -> RunOut:
    gate_passed = None
    if run.state == RunState.DONE.value and run.metrics:
        gate_passed = promotion.run_gate(run, max_drop).passed if max_drop is not None else \
            bool(run.metrics.get("gate", {}).get("passed"))
    return RunOut(
        id=run.id, state=run.state, state_label=RunState(run.state).label, step=run.step, progress=run.progress,
        requested_by=run.requested_by, created_at=run.created_at.isoformat(), started_at=_iso(run.started_at),
        finished_at=_iso(run.finished_at), data_hash=run.data_hash,
        model_file=Path(run.model_path).name if run.model_path else None, live_model=run.live_model,
        error=run.error, log_tail=run.log_tail, gate_passed=gate_passed,
        metrics=run.metrics if with_metrics else None,
    )


def promotion_out(row: ModelPromotion) -> PromotionOut:
    return PromotionOut(id=row.id, kind=row.kind, model_file=row.model_file,
                        previous_model_file=row.previous_model_file, run_id=row.run_id, by=row.by,
                        at=row.at.isoformat(), rolled_back_at=_iso(row.rolled_back_at))


# ---- inbox -------------------------------------------------------------------------------------
@training_router.get("/inbox", response_model=InboxOut, summary="Open (or labelled/dismissed) inbox messages, grouped")
def get_inbox(
    request: Request, _admin: Admin,
    status: Annotated[str, Query(pattern="^(new|labelled|dismissed)$")] = "new",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> InboxOut:
    factory = _factory(request)
    groups = inbox.list_groups(factory, status, limit)
    return InboxOut(
        counts=inbox.counts(factory),
        groups=[
            InboxGroupOut(group_key=g.key, count=g.count, sample=g.sample, reasons=g.reasons,
                          predicted=g.predicted, items=[item_out(i) for i in g.items])
            for g in groups
        ],
    )


@training_router.get("/intents", response_model=list[str], summary="Intents a message may be labelled with")
def get_intents(request: Request, _admin: Admin) -> list[str]:
    return inbox.label_choices(Path(_settings(request).training_project_dir))


@training_router.post("/inbox/label", response_model=LabelOut, summary="Label messages (ids or a group)")
def post_label(request: Request, body: LabelIn, admin: Admin) -> LabelOut:
    result = inbox.do_label(
        _factory(request), Path(_settings(request).training_project_dir), body.intent, by=str(admin),
        ids=body.ids, group_key=body.group_key, create_intent=body.create_intent,
        entities=[e.dict() for e in body.entities] if body.entities else None,
    )
    return LabelOut(intent=result.intent, count=result.count, files=list(result.files),
                    created_intent=result.created_intent, notice=result.notice)


@training_router.post("/inbox/dismiss", response_model=CountOut, summary="Dismiss messages (ids or a group)")
def post_dismiss(request: Request, body: DismissIn, admin: Admin) -> CountOut:
    count = inbox.do_dismiss(_factory(request), by=str(admin), ids=body.ids, group_key=body.group_key, note=body.note)
    return CountOut(count=count)


# ---- runs --------------------------------------------------------------------------------------
@training_router.post("/runs", response_model=RunOut, status_code=202, summary="Start a training run")
def post_run(request: Request, admin: Admin) -> RunOut:
    return run_out(start_training(request, str(admin)))


@training_router.get("/runs", response_model=list[RunOut], summary="Recent training runs")
def get_runs(request: Request, _admin: Admin) -> list[RunOut]:
    return [run_out(r) for r in runs.list_runs(_factory(request))]


@training_router.get("/runs/{run_id}", response_model=RunOut, summary="One run with its comparison")
def get_run(request: Request, run_id: int, _admin: Admin) -> RunOut:
    return run_out(runs.get_run(_factory(request), run_id), with_metrics=True,
                   max_drop=_settings(request).promote_max_f1_drop)


@training_router.post("/runs/{run_id}/promote", response_model=PromotionOut, summary="Promote the run's candidate")
def post_promote(request: Request, run_id: int, admin: Admin) -> PromotionOut:
    return promotion_out(promotion.do_promote(_factory(request), _settings(request), run_id, by=str(admin)))


@training_router.post("/rollback", response_model=PromotionOut, summary="Roll back to an earlier model")
def post_rollback(request: Request, body: RollbackIn, admin: Admin) -> PromotionOut:
    return promotion_out(promotion.do_rollback(_factory(request), _settings(request), by=str(admin),
                                               to_model=body.model_file))


@training_router.get("/models", response_model=ModelsOut, summary="Live model, registry and promotion history")
def get_models(request: Request, _admin: Admin) -> ModelsOut:
    settings, factory = _settings(request), _factory(request)
    live_file, live_error = None, None
    try:
        live_file = promotion.live_model(settings).model_file
    except PetitionError as exc:
        live_error = exc.user_message
    return ModelsOut(
        live_model=live_file, live_error=live_error, max_f1_drop=settings.promote_max_f1_drop,
        models=[
            ModelOut(file_name=m.file_name, exists=m.exists, live=m.live, run_id=m.run_id,
                     created_at=m.created_at.isoformat(), last_promoted_at=_iso(m.last_promoted_at))
            for m in promotion.list_models(factory, live_file)
        ],
        history=[promotion_out(p) for p in promotion.history(factory)],
    )


@training_router.get("/events", response_model=list[EventOut], summary="Audit log of the admin loop")
def get_events(request: Request, _admin: Admin, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[EventOut]:
    return [
        EventOut(id=e.id, at=e.at.isoformat(), actor=e.actor, action=e.action, inbox_id=e.inbox_id,
                 run_id=e.run_id, model_file=e.model_file, note=e.note)
        for e in audit.recent_events(_factory(request), limit)
    ]

"""Promote a candidate model, roll back to an earlier one; the model registry and its history.

Promotion is allowed only when

- the run is done and its candidate file still exists,
- no intent's F1 on the frozen regression set drops by more than ``PROMOTE_MAX_F1_DROP``
  (the gate is checked again with the current setting), and
- the Rasa server still runs the model the candidate was compared with (otherwise the
  comparison is stale: train again).

The model is loaded with ``PUT /model`` into every Rasa server (``RASA_REPLICA_URLS``, default
``RASA_URL``); each must then report it in ``GET /status``. If one fails, the servers already
switched are switched back. Conversations continue: the tracker store keeps them, and Rasa
swaps the model between two messages. Every step — refused, failed or done — is an audit row.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.cases.db import transaction
from bot.cases.deadlines import utcnow
from bot.errors import Conflict, NotFound, PetitionError, UpstreamUnavailable
from bot.settings import Settings
from bot.training import audit
from bot.training.metrics import Gate, deltas_from_list, gate
from bot.training.model_cache import write_live_pointer
from bot.training.models import ModelPromotion, ModelRecord, RunState, TrainingRun
from bot.training.rasa_client import LiveModel, RasaClient
from bot.training.runs import resolve_model_file
from bot.training.toolchain import ToolError

log = logging.getLogger(__name__)


class PromotionRefused(Conflict):
    """The candidate may not go live (gate failed, stale comparison, nothing to roll back to)."""

    code = "promotion_refused"
    user_message = "这个模型现在不能上线。"


def clients_for(settings: Settings) -> list[RasaClient]:
    return [RasaClient(url, settings.rasa_token) for url in settings.rasa_model_urls]


def live_model(settings: Settings, clients: Sequence[RasaClient] | None = None) -> LiveModel:
    """The model the (first) Rasa server runs now."""
    return (list(clients) if clients else clients_for(settings))[0].status()


def run_gate(run: TrainingRun, max_drop: float) -> Gate:
    """The promotion gate of a finished run, with today's margin."""
    rows = ((run.metrics or {}).get("regression") or {}).get("intents") or []
    return gate(deltas_from_list(rows), max_drop)


def _switch(clients: Sequence[RasaClient], path: Path, previous: Path | None) -> None:
    """Load ``path`` everywhere and verify; on failure put ``previous`` back where switched."""
    switched: list[RasaClient] = []
    try:
        for client in clients:
            client.load_model(str(path))
            switched.append(client)
            reported = client.status().model_file
            if reported != path.name:
                raise UpstreamUnavailable(f"{client.url} reports {reported} after loading {path.name}",
                                          user_message="对话引擎没有切换到新模型，请查看日志。")
    except PetitionError:
        if previous is not None:
            for client in switched:
                try:
                    client.load_model(str(previous))
                except PetitionError:
                    log.error("could not restore %s on %s", previous.name, client.url)
        raise


def _remember_live(settings: Settings, model: Path, by: str) -> None:
    """So that a restart (``make run``, run.sh) serves the model chosen here, not the default."""
    try:
        write_live_pointer(Path(settings.training_project_dir), settings.models_path, model, by=by)
    except OSError:
        log.exception("model %s is live, but the pointer for restarts could not be written", model.name)


def _audit_failure(session_factory: sessionmaker, by: str, action: str, exc: Exception, **kwargs: object) -> None:
    try:
        audit.do_record(session_factory, by, action, note=str(exc)[:1000], **kwargs)  # type: ignore[arg-type]
    except PetitionError:
        log.error("could not write the audit row for %s", action)


def do_promote(
    session_factory: sessionmaker, settings: Settings, run_id: int, *, by: str,
    clients: Sequence[RasaClient] | None = None, now: datetime | None = None,
) -> ModelPromotion:
    """Make the candidate of run ``run_id`` the live model (see module docstring)."""
    clients = list(clients) if clients else clients_for(settings)
    with transaction(session_factory) as session:
        run = session.get(TrainingRun, run_id)
        if run is None:
            raise NotFound(f"training run {run_id}", user_message=f"没有找到第 {run_id} 次训练。")
    if run.state != RunState.DONE.value or not run.metrics or not run.model_path:
        raise PromotionRefused(f"run {run_id} is {run.state}", user_message="这次训练还没有顺利完成，不能上线。")
    verdict = run_gate(run, settings.promote_max_f1_drop)
    candidate = Path(run.model_path)
    if not verdict.passed:
        audit.do_record(session_factory, by, "promote_refused", run_id=run_id, model_file=candidate.name,
                        note=verdict.describe())
        raise PromotionRefused(f"gate failed: {[v.intent for v in verdict.violations]}", user_message=verdict.describe())
    if not candidate.is_file():
        raise NotFound(f"{candidate} missing", user_message="候选模型文件不见了，请重新训练。")
    live = clients[0].status()
    compared_with = run.metrics.get("live_model")
    if live.model_file == candidate.name:
        raise PromotionRefused("already live", user_message="这个模型已经在线上了。")
    if compared_with and live.model_file != compared_with:
        note = f"live model is {live.model_file}, the run compared with {compared_with}"
        audit.do_record(session_factory, by, "promote_refused", run_id=run_id, model_file=candidate.name, note=note)
        raise PromotionRefused(note, user_message="对比之后线上模型已经换过了，请重新训练并对比后再上线。")
    try:
        previous = resolve_model_file(session_factory, settings.models_path, live.model_file)
    except ToolError:
        previous = None
    try:
        _switch(clients, candidate, previous)
    except PetitionError as exc:
        _audit_failure(session_factory, by, "promote_failed", exc, run_id=run_id, model_file=candidate.name)
        raise
    _remember_live(settings, candidate, by)
    at = now or utcnow()
    with transaction(session_factory, write=True) as session:
        promotion = ModelPromotion(kind="promote", model_file=candidate.name, previous_model_file=live.model_file,
                                   run_id=run_id, by=by, at=at)
        session.add(promotion)
        audit.record(session, by, "promote", at=at, run_id=run_id, model_file=candidate.name,
                     note={"previous": live.model_file, "servers": [c.url for c in clients]})
        session.flush()
        return promotion


def rollback_target(session_factory: sessionmaker, live_file: str) -> str | None:
    """The model that was live before ``live_file`` was promoted (None when unknown)."""
    with transaction(session_factory) as session:
        row = session.execute(
            select(ModelPromotion)
            .where(ModelPromotion.kind == "promote", ModelPromotion.model_file == live_file,
                   ModelPromotion.rolled_back_at.is_(None))
            .order_by(ModelPromotion.id.desc()).limit(1)
        ).scalar_one_or_none()
    return row.previous_model_file if row is not None else None


def do_rollback(
    session_factory: sessionmaker, settings: Settings, *, by: str, to_model: str | None = None,
    clients: Sequence[RasaClient] | None = None, now: datetime | None = None,
) -> ModelPromotion:
    """Load an earlier model (default: the one live before the current one was promoted)."""
    clients = list(clients) if clients else clients_for(settings)
    live = clients[0].status()
    target_name = (to_model or "").strip() or rollback_target(session_factory, live.model_file)
    if not target_name:
        raise PromotionRefused("no previous model",
                               user_message="不知道当前模型之前是哪个模型，请在模型列表里选择要回滚到的模型。")
    if Path(target_name).name != target_name:
        raise NotFound(f"model {target_name!r}", user_message="模型名称不对。")
    if target_name == live.model_file:
        raise PromotionRefused("already live", user_message="这个模型已经在线上了。")
    try:
        target = resolve_model_file(session_factory, settings.models_path, target_name)
    except ToolError as exc:
        raise NotFound(str(exc), user_message="找不到这个模型文件，无法回滚。") from exc
    try:
        current = resolve_model_file(session_factory, settings.models_path, live.model_file)
    except ToolError:
        current = None
    try:
        _switch(clients, target, current)
    except PetitionError as exc:
        _audit_failure(session_factory, by, "rollback_failed", exc, model_file=target_name)
        raise
    _remember_live(settings, target, by)
    at = now or utcnow()
    with transaction(session_factory, write=True) as session:
        for row in session.execute(
            select(ModelPromotion).where(ModelPromotion.model_file == live.model_file,
                                         ModelPromotion.rolled_back_at.is_(None))
        ).scalars():
            row.rolled_back_at, row.rolled_back_by = at, by
        promotion = ModelPromotion(kind="rollback", model_file=target_name, previous_model_file=live.model_file,
                                   by=by, at=at)
        session.add(promotion)
        audit.record(session, by, "rollback", at=at, model_file=target_name,
                     note={"previous": live.model_file, "servers": [c.url for c in clients]})
        session.flush()
        return promotion


@dataclass(frozen=True)
class ModelInfo:
    file_name: str
    path: str
    exists: bool
    live: bool
    run_id: int | None
    created_at: datetime
    last_promoted_at: datetime | None


def list_models(session_factory: sessionmaker, live_file: str | None = None) -> list[ModelInfo]:
    """Every model of the registry, newest first, with whether it is live and still on disk."""
    with transaction(session_factory) as session:
        records = list(session.execute(select(ModelRecord).order_by(ModelRecord.id.desc())).scalars())
        promotions = list(session.execute(select(ModelPromotion).order_by(ModelPromotion.id)).scalars())
    last: dict[str, datetime] = {p.model_file: p.at for p in promotions}
    return [
        ModelInfo(r.file_name, r.path, Path(r.path).is_file(), r.file_name == live_file, r.run_id, r.created_at,
                  last.get(r.file_name))
        for r in records
    ]


def history(session_factory: sessionmaker, limit: int = 50) -> list[ModelPromotion]:
    with transaction(session_factory) as session:
        return list(session.execute(select(ModelPromotion).order_by(ModelPromotion.id.desc()).limit(limit)).scalars())

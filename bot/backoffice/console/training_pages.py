"""Admin console pages of the NLU loop (admins only): inbox → label → train → compare →
promote / roll back. Thin layer over :mod:`bot.training`; see docs/admin.md."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.backoffice.console.render import render
from bot.backoffice.console.security import Posted, admin_session, factory_of, posted_admin_form, settings_of
from bot.backoffice.training_api import start_training
from bot.backoffice.users import ConsoleSession
from bot.errors import PetitionError
from bot.training import audit, inbox, promotion, runs
from bot.training.models import CaptureReason, RunState
from bot.training.nlu_files import entities_from_markup

router = APIRouter(prefix="/console/training", include_in_schema=False)

REASON_LABELS = {r.value: r.label for r in CaptureReason}
RUN_STATE_LABELS = {s.value: s.label for s in RunState}
KIND_LABELS = {"fixed": "改对了", "broken": "改错了", "changed": "仍不对"}
EVENT_LABELS = {
    "label": "标注", "dismiss": "忽略", "create_intent": "新建意图", "train_requested": "开始训练",
    "train_done": "训练完成", "train_failed": "训练失败", "promote": "上线", "promote_refused": "拒绝上线",
    "promote_failed": "上线失败", "rollback": "回滚", "rollback_failed": "回滚失败",
}
STATUS_LABELS = {"new": "待标注", "labelled": "已标注", "dismissed": "已忽略"}


def _redirect(path: str, notice: str = "", error: str = "") -> Response:
    query = f"?notice={quote(notice)}" if notice else (f"?error={quote(error)}" if error else "")
    return RedirectResponse(f"/console/training{path}{query}", status_code=303)


def _flash(request: Request) -> dict[str, Any]:
    return {"notice": request.query_params.get("notice") or None, "error": request.query_params.get("error") or None}


def _ids(posted: Posted) -> list[int]:
    try:
        return [int(v) for v in posted.lists.get("ids", []) if v.strip()]
    except ValueError:
        return []


@router.get("", response_class=HTMLResponse)
def inbox_page(request: Request, me: Annotated[ConsoleSession, Depends(admin_session)]) -> Response:
    factory, settings = factory_of(request), settings_of(request)
    status = request.query_params.get("status", "new")
    if status not in STATUS_LABELS:
        status = "new"
    return render(
        request, "training_inbox.html",
        {
            "nav": "training", "status": status, "status_labels": STATUS_LABELS,
            "counts": inbox.counts(factory), "groups": inbox.list_groups(factory, status, 100),
            "choices": inbox.label_choices(Path(settings.training_project_dir)), "reason_labels": REASON_LABELS,
            **_flash(request),
        },
        session=me,
    )


@router.post("/label", response_class=HTMLResponse)
def label(request: Request, posted: Annotated[Posted, Depends(posted_admin_form)]) -> Response:
    factory, settings = factory_of(request), settings_of(request)
    new_intent = posted.get("new_intent").strip()
    intent = new_intent or posted.get("intent").strip()
    ids = _ids(posted)
    try:
        entities = None
        marked = posted.get("marked").strip()
        if marked and len(ids) == 1:
            item = inbox.get_item(factory, ids[0])
            if item is not None and marked != item.text_masked:
                entities = [vars(e) for e in entities_from_markup(item.text_masked, marked)]
        result = inbox.do_label(factory, Path(settings.training_project_dir), intent, by=posted.session.actor,
                                ids=ids, entities=entities, create_intent=bool(new_intent))
    except PetitionError as exc:
        return _redirect("", error=exc.user_message)
    notice = f"已把 {result.count} 条消息标注为“{result.intent}”，写入 {'、'.join(result.files)}。"
    return _redirect("", notice=f"{notice}{result.notice}")


@router.post("/dismiss", response_class=HTMLResponse)
def dismiss(request: Request, posted: Annotated[Posted, Depends(posted_admin_form)]) -> Response:
    try:
        count = inbox.do_dismiss(factory_of(request), by=posted.session.actor, ids=_ids(posted),
                                 note=posted.get("note") or None)
    except PetitionError as exc:
        return _redirect("", error=exc.user_message)
    return _redirect("", notice=f"已忽略 {count} 条消息，它们不会进入训练数据。")


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request, me: Annotated[ConsoleSession, Depends(admin_session)]) -> Response:
    factory, settings = factory_of(request), settings_of(request)
    live_file, live_error = None, None
    try:
        live_file = promotion.live_model(settings).model_file
    except PetitionError as exc:
        live_error = exc.user_message
    recent = runs.list_runs(factory, 30)
    active = any(r.state in runs.ACTIVE for r in recent)
    return render(
        request, "training_runs.html",
        {
            "nav": "training", "runs": recent, "active": active, "state_labels": RUN_STATE_LABELS,
            "step_labels": runs.STEP_LABELS, "live_file": live_file, "live_error": live_error,
            "models": promotion.list_models(factory, live_file), "history": promotion.history(factory, 30),
            "rollback_to": promotion.rollback_target(factory, live_file) if live_file else None,
            "events": audit.recent_events(factory, 50), "event_labels": EVENT_LABELS,
            "counts": inbox.counts(factory), "max_drop": settings.promote_max_f1_drop, **_flash(request),
        },
        session=me, headers={"Refresh": "5"} if active else None,
    )


@router.post("/runs", response_class=HTMLResponse)
def start_run(request: Request, posted: Annotated[Posted, Depends(posted_admin_form)]) -> Response:
    try:
        run = start_training(request, posted.session.actor)
    except PetitionError as exc:
        return _redirect("/runs", error=exc.user_message)
    return RedirectResponse(f"/console/training/runs/{run.id}", status_code=303)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: int, me: Annotated[ConsoleSession, Depends(admin_session)]) -> Response:
    factory, settings = factory_of(request), settings_of(request)
    run = runs.get_run(factory, run_id)
    verdict = promotion.run_gate(run, settings.promote_max_f1_drop) if run.metrics else None
    active = run.state in runs.ACTIVE
    return render(
        request, "training_run.html",
        {
            "nav": "training", "run": run, "metrics": run.metrics or {}, "gate": verdict,
            "state_labels": RUN_STATE_LABELS, "step_labels": runs.STEP_LABELS, "kind_labels": KIND_LABELS,
            "model_file": Path(run.model_path).name if run.model_path else None, "active": active,
            **_flash(request),
        },
        session=me, headers={"Refresh": "3"} if active else None,
    )


@router.post("/runs/{run_id}/promote", response_class=HTMLResponse)
def promote(request: Request, run_id: int, posted: Annotated[Posted, Depends(posted_admin_form)]) -> Response:
    try:
        row = promotion.do_promote(factory_of(request), settings_of(request), run_id, by=posted.session.actor)
    except PetitionError as exc:
        return _redirect(f"/runs/{run_id}", error=exc.user_message)
    return _redirect("/runs", notice=f"已上线 {row.model_file}。正在进行的对话不受影响；如有问题可一键回滚。")


@router.post("/rollback", response_class=HTMLResponse)
def rollback(request: Request, posted: Annotated[Posted, Depends(posted_admin_form)]) -> Response:
    try:
        row = promotion.do_rollback(factory_of(request), settings_of(request), by=posted.session.actor,
                                    to_model=posted.get("model_file") or None)
    except PetitionError as exc:
        return _redirect("/runs", error=exc.user_message)
    return _redirect("/runs", notice=f"已回滚到 {row.model_file}。")

"""Training runs (with a fake toolchain) and promotion / rollback against stand-in Rasa servers."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.cases.db import transaction
from bot.cases.deadlines import utcnow
from bot.errors import Conflict, UpstreamUnavailable
from bot.settings import Settings
from bot.training.capture import Capture, UserTurn
from bot.training.inbox import do_capture, do_label
from bot.training.model_cache import data_hash, live_model
from bot.training.models import CaptureReason, ModelPromotion, ModelRecord, TrainingEvent, TrainingRun
from bot.training.promotion import PromotionRefused, do_promote, do_rollback, list_models, rollback_target
from bot.training.rasa_client import RasaClient
from bot.training.runs import (
    STALE_AFTER,
    do_fail_run,
    do_request_training,
    execute_run,
    get_run,
    recover_interrupted_runs,
)
from tests.integration.training.fake_rasa import TOKEN, FakeRasa, fake_rasa
from tests.integration.training.helpers import FakeToolchain, gold, make_project

LIVE = "live0001.tar.gz"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = make_project(tmp_path / "project")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / LIVE).write_bytes(b"live model")
    return root


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    with fake_rasa(LIVE) as server:
        yield server


def settings_for(project: Path, rasa: FakeRasa, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        training_project_dir=str(project), models_dir=str(project.parent / "models"), rasa_url=rasa.url,
        rasa_token=TOKEN, training_regression_set=str(project / "regression.yml"), training_cv_folds=2,
        promote_max_f1_drop=0.02,
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def label_one(factory: sessionmaker, project: Path) -> None:
    turn = UserTurn("s", "那件事有下文了吗", "greet", 0.3, False, "rest", datetime(2026, 11, 20, tzinfo=timezone.utc), "m1")
    item = do_capture(factory, Capture(turn, CaptureReason.CORRECTED), hash_key="k")
    do_label(factory, project, "check_status", by="admin:wang", ids=[item.id])


def events(factory: sessionmaker) -> list[str]:
    with transaction(factory) as s:
        return [e.action for e in s.execute(select(TrainingEvent).order_by(TrainingEvent.id)).scalars()]


def run_once(factory: sessionmaker, settings: Settings, toolchain: FakeToolchain) -> TrainingRun:
    run = do_request_training(factory, by="admin:wang")
    assert run.state == "queued"
    lines: list[str] = []
    done = execute_run(factory, settings, run.id, toolchain=toolchain, echo=lines.append)
    assert (lines and lines[-1] == "完成。") or done.state == "failed"
    return done


def test_train_compare_promote_rollback(session_factory: sessionmaker, project: Path, rasa: FakeRasa) -> None:
    settings = settings_for(project, rasa)
    label_one(session_factory, project)
    candidate = f"{data_hash(project)}.tar.gz"
    # the live model misreads the labelled message; the candidate gets it right
    toolchain = FakeToolchain(gold(project) | {"那件事有下文了吗": "check_status"},
                              answers={LIVE: {"那件事有下文了吗": "greet"}})
    run = run_once(session_factory, settings, toolchain)
    assert run.state == "done" and run.progress == 100 and run.error is None
    assert toolchain.calls == ["validate", "train", "predict", "cross_validate"]
    assert run.model_path == str(project.parent / "models" / candidate) and run.live_model == LIVE
    assert run.data_hash == data_hash(project)
    assert "== 训练候选模型 ==" in (run.log_tail or "") and "Finished training component" in (run.log_tail or "")
    metrics = run.metrics or {}
    assert metrics["gate"]["passed"] is True and metrics["live_model"] == LIVE and metrics["candidate_model"] == candidate
    assert metrics["regression"]["size"] == 5
    assert {r["intent"] for r in metrics["regression"]["intents"]} == {"greet", "thank", "check_status"}
    assert metrics["inbox"] == {"size": 1, "live_correct": 0, "candidate_correct": 1}
    assert [(c["text"], c["kind"], c["source"]) for c in metrics["changes"]] == [("那件事有下文了吗", "fixed", "inbox")]
    assert metrics["cross_validation"]["folds"] == 2
    assert metrics["cross_validation"]["report"]["intents"]["thank"]["recall"] == 0.0
    with transaction(session_factory) as s:
        registry = sorted(r.file_name for r in s.execute(select(ModelRecord)).scalars())
    assert registry == sorted([LIVE, candidate])

    promotion = do_promote(session_factory, settings, run.id, by="admin:wang")
    assert (promotion.kind, promotion.model_file, promotion.previous_model_file) == ("promote", candidate, LIVE)
    assert rasa.model_file == candidate and rasa.loads == [candidate]
    assert RasaClient(rasa.url, TOKEN).status().model_file == candidate
    models_dir = project.parent / "models"
    assert live_model(project, models_dir) == models_dir / candidate  # a restart serves it too
    with pytest.raises(PromotionRefused):  # already live
        do_promote(session_factory, settings, run.id, by="admin:wang")
    assert rollback_target(session_factory, candidate) == LIVE
    models = {m.file_name: m for m in list_models(session_factory, candidate)}
    assert models[candidate].live and models[candidate].exists and models[candidate].last_promoted_at is not None
    assert not models[LIVE].live

    back = do_rollback(session_factory, settings, by="admin:li")
    assert (back.kind, back.model_file, back.previous_model_file) == ("rollback", LIVE, candidate)
    assert rasa.model_file == LIVE
    assert live_model(project, models_dir) == models_dir / LIVE  # the rollback survives a restart
    (project / "nlu_data" / "new.yml").write_text("version: '3.1'\nnlu: []\n", encoding="utf-8")
    assert live_model(project, models_dir) is None  # new training data: its own model is served
    (project / "nlu_data" / "new.yml").unlink()
    with transaction(session_factory) as s:
        rows = list(s.execute(select(ModelPromotion).order_by(ModelPromotion.id)).scalars())
    assert rows[0].rolled_back_by == "admin:li" and rows[0].rolled_back_at is not None
    with pytest.raises(PromotionRefused):  # nothing known before LIVE
        do_rollback(session_factory, settings, by="admin:li")
    forward = do_rollback(session_factory, settings, by="admin:li", to_model=candidate)  # any earlier model, one click
    assert forward.model_file == candidate and rasa.model_file == candidate
    assert events(session_factory) == ["label", "train_requested", "train_done", "promote", "rollback", "rollback"]


def test_the_gate_blocks_a_candidate_that_hurts_an_intent(
    session_factory: sessionmaker, project: Path, rasa: FakeRasa
) -> None:
    settings = settings_for(project, rasa)
    candidate = f"{data_hash(project)}.tar.gz"
    toolchain = FakeToolchain(gold(project), answers={candidate: {"多谢了": "greet"}})
    run = run_once(session_factory, settings, toolchain)
    assert run.state == "done" and run.metrics is not None
    assert run.metrics["gate"]["passed"] is False and run.metrics["gate"]["violations"] == ["greet", "thank"]
    with pytest.raises(PromotionRefused) as info:
        do_promote(session_factory, settings, run.id, by="admin")
    assert "thank" in info.value.user_message and info.value.http_status == 409
    assert rasa.model_file == LIVE and rasa.loads == []
    assert events(session_factory)[-1] == "promote_refused"
    # the margin is read again at promotion time
    relaxed = settings_for(project, rasa, promote_max_f1_drop=0.6)
    do_promote(session_factory, relaxed, run.id, by="admin")
    assert rasa.model_file == candidate


def test_a_stale_comparison_is_refused(session_factory: sessionmaker, project: Path, rasa: FakeRasa) -> None:
    settings = settings_for(project, rasa)
    run = run_once(session_factory, settings, FakeToolchain(gold(project)))
    (project.parent / "models" / "other.tar.gz").write_bytes(b"x")
    rasa.model_file = "other.tar.gz"  # someone changed the live model after the comparison
    with pytest.raises(PromotionRefused) as info:
        do_promote(session_factory, settings, run.id, by="admin")
    assert "重新训练" in info.value.user_message
    assert rasa.loads == []


def test_a_replica_that_fails_to_load_puts_the_others_back(
    session_factory: sessionmaker, project: Path, rasa: FakeRasa
) -> None:
    candidate = f"{data_hash(project)}.tar.gz"
    with fake_rasa(LIVE) as replica:
        replica.fail_on.add(candidate)
        settings = settings_for(project, rasa, rasa_replica_urls=(rasa.url, replica.url))
        run = run_once(session_factory, settings, FakeToolchain(gold(project)))
        with pytest.raises(UpstreamUnavailable):
            do_promote(session_factory, settings, run.id, by="admin")
        assert rasa.loads == [candidate, LIVE] and rasa.model_file == LIVE and replica.model_file == LIVE
    assert events(session_factory)[-1] == "promote_failed"
    with transaction(session_factory) as s:
        assert s.execute(select(ModelPromotion)).first() is None


@pytest.mark.parametrize("step", ["validate", "train", "predict"])
def test_a_failing_step_fails_the_run(session_factory: sessionmaker, project: Path, rasa: FakeRasa, step: str) -> None:
    settings = settings_for(project, rasa)
    run = run_once(session_factory, settings, FakeToolchain(gold(project), fail_step=step))
    assert run.state == "failed" and run.finished_at is not None
    assert f"{step} failed" in (run.error or "") and "domain.yml has a problem" in (run.error or "")
    assert events(session_factory) == ["train_requested", "train_failed"]
    with pytest.raises(PromotionRefused):
        do_promote(session_factory, settings, run.id, by="admin")
    # the next run may start
    assert do_request_training(session_factory, by="admin").state == "queued"


def test_live_model_unknown_fails_the_run(session_factory: sessionmaker, project: Path, rasa: FakeRasa) -> None:
    rasa.model_file = "elsewhere.tar.gz"
    run = run_once(session_factory, settings_for(project, rasa), FakeToolchain(gold(project)))
    assert run.state == "failed" and "elsewhere.tar.gz" in (run.error or "")


def test_one_run_at_a_time_and_recovery(session_factory: sessionmaker, project: Path, rasa: FakeRasa) -> None:
    first = do_request_training(session_factory, by="admin")
    with pytest.raises(Conflict):
        do_request_training(session_factory, by="admin")
    assert recover_interrupted_runs(session_factory) == 0  # its heartbeat is fresh
    later = utcnow() + STALE_AFTER + timedelta(seconds=1)
    assert recover_interrupted_runs(session_factory, now=later) == 1
    recovered = get_run(session_factory, first.id)
    assert recovered.state == "failed" and "中断" in (recovered.error or "")
    stale = do_request_training(session_factory, by="admin")  # a run nobody executes ...
    replaced = do_request_training(session_factory, by="admin", now=later + STALE_AFTER * 2)  # ... is replaced later
    assert get_run(session_factory, stale.id).state == "failed" and replaced.state == "queued"
    do_fail_run(session_factory, replaced.id, "测试")
    assert get_run(session_factory, replaced.id).state == "failed"
    with pytest.raises(Conflict):  # a failed run cannot be executed
        execute_run(session_factory, settings_for(project, rasa), first.id, toolchain=FakeToolchain({}))
    without_cv = settings_for(project, rasa, training_cv_folds=0)
    toolchain = FakeToolchain(gold(project))
    run = run_once(session_factory, without_cv, toolchain)
    assert run.state == "done" and "cross_validate" not in toolchain.calls
    assert (run.metrics or {})["cross_validation"] is None

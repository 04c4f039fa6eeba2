"""The admin loop over HTTP: JSON API and console pages, with a fake toolchain and a stand-in Rasa."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from bot.backoffice.app import create_app
from bot.settings import Settings
from bot.training.capture import Capture, UserTurn
from bot.training.inbox import do_capture
from bot.training.model_cache import data_hash
from bot.training.models import CaptureReason
from bot.training.runs import TrainingWorker
from tests.integration.backoffice.console_helpers import (
    ADMIN_PW,
    STAFF_PW,
    csrf_of,
    fast_hashing,
    login,
    make_users,
)
from tests.integration.training.fake_rasa import TOKEN, FakeRasa, fake_rasa
from tests.integration.training.helpers import FakeToolchain, gold, make_project

ADMIN = {"Authorization": "Bearer admin-secret"}
STAFF = {"Authorization": "Bearer staff-secret"}
LIVE = "live0001.tar.gz"
__all__ = ["fast_hashing"]  # a fixture

PHRASE = "俺那档子事有人管没"
CONSOLE_PHRASE = "我住朝阳区那事咋样了"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = make_project(tmp_path / "project")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / LIVE).write_bytes(b"live")
    return root


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    with fake_rasa(LIVE) as server:
        yield server


@pytest.fixture
def client(request: pytest.FixtureRequest, session_factory: sessionmaker, project: Path, rasa: FakeRasa) -> Iterator[TestClient]:
    request.getfixturevalue("fast_hashing")  # quick password hashing for the console logins
    settings = Settings(
        backoffice_token="admin-secret", backoffice_staff_token="staff-secret", training_project_dir=str(project),
        models_dir=str(project.parent / "models"), rasa_url=rasa.url, rasa_token=TOKEN,
        training_regression_set=str(project / "regression.yml"), training_cv_folds=2,
    )
    app = create_app(settings, session_factory)
    phrases = (PHRASE, PHRASE + "？", CONSOLE_PHRASE)
    toolchain = FakeToolchain(gold(project) | {p: "check_status" for p in phrases},
                              answers={LIVE: {p: "greet" for p in phrases}})
    app.state.training_worker = TrainingWorker(session_factory, settings, toolchain_factory=lambda: toolchain)
    make_users(session_factory)
    with TestClient(app) as test_client:
        yield test_client


def capture(factory: sessionmaker, text: str, n: int) -> int:
    turn = UserTurn(f"s{n}", text, "greet", 0.31, False, "rest", datetime(2026, 11, 20, tzinfo=timezone.utc), f"m{n}")
    return do_capture(factory, Capture(turn, CaptureReason.LOW_CONFIDENCE), hash_key="k").id


def wait_for_run(client: TestClient) -> None:
    worker: TrainingWorker = client.app.state.training_worker  # type: ignore[attr-defined]
    assert worker.join(60), "the training run did not finish"


def test_api_is_for_admins_only(client: TestClient) -> None:
    assert client.get("/api/training/inbox").status_code == 401
    assert client.get("/api/training/inbox", headers=STAFF).status_code == 403
    assert client.post("/api/training/runs", headers=STAFF).status_code == 403
    assert client.get("/api/training/inbox", headers=ADMIN).status_code == 200


def test_api_loop(client: TestClient, session_factory: sessionmaker, project: Path, rasa: FakeRasa) -> None:
    first, second = capture(session_factory, PHRASE, 1), capture(session_factory, PHRASE + "？", 2)
    capture(session_factory, "讲个笑话", 3)
    inbox = client.get("/api/training/inbox", headers=ADMIN).json()
    assert inbox["counts"] == {"new": 3, "labelled": 0, "dismissed": 0}
    group = inbox["groups"][0]
    assert group["count"] == 2 and [i["id"] for i in group["items"]] == [first, second]
    assert "check_status" in client.get("/api/training/intents", headers=ADMIN).json()

    bad = client.post("/api/training/inbox/label", headers=ADMIN, json={"ids": [first], "intent": "no_such"})
    assert bad.status_code == 422 and "新建" in bad.json()["message"]
    labelled = client.post("/api/training/inbox/label", headers=ADMIN,
                           json={"group_key": group["group_key"], "intent": "check_status"})
    assert labelled.status_code == 200, labelled.text
    assert labelled.json() == {"intent": "check_status", "count": 2, "files": ["nlu_data/nlu/inbox_rest.yml"],
                               "created_intent": False, "notice": ""}
    other = inbox["groups"][1]["items"][0]["id"]
    assert client.post("/api/training/inbox/dismiss", headers=ADMIN, json={"ids": [other]}).json() == {"count": 1}

    started = client.post("/api/training/runs", headers=ADMIN)
    assert started.status_code == 202 and started.json()["state"] in ("queued", "running")
    wait_for_run(client)
    run = client.get(f"/api/training/runs/{started.json()['id']}", headers=ADMIN).json()
    assert run["state"] == "done" and run["progress"] == 100 and run["gate_passed"] is True
    candidate = f"{data_hash(project)}.tar.gz"
    assert run["model_file"] == candidate and run["live_model"] == LIVE
    assert run["metrics"]["inbox"] == {"size": 2, "live_correct": 0, "candidate_correct": 2}
    assert client.get("/api/training/runs", headers=ADMIN).json()[0]["metrics"] is None

    promoted = client.post(f"/api/training/runs/{run['id']}/promote", headers=ADMIN)
    assert promoted.status_code == 200 and promoted.json()["model_file"] == candidate
    assert rasa.model_file == candidate
    models = client.get("/api/training/models", headers=ADMIN).json()
    assert models["live_model"] == candidate and models["max_f1_drop"] == 0.02
    assert {m["file_name"]: m["live"] for m in models["models"]} == {candidate: True, LIVE: False}
    assert client.post(f"/api/training/runs/{run['id']}/promote", headers=ADMIN).status_code == 409

    back = client.post("/api/training/rollback", headers=ADMIN, json={})
    assert back.status_code == 200 and back.json()["model_file"] == LIVE and rasa.model_file == LIVE
    actions = [e["action"] for e in client.get("/api/training/events", headers=ADMIN).json()]
    assert actions[:4] == ["rollback", "promote", "train_done", "train_requested"]
    assert actions.count("label") == 2 and actions.count("dismiss") == 1


def test_console_loop(client: TestClient, session_factory: sessionmaker, rasa: FakeRasa) -> None:
    item = capture(session_factory, CONSOLE_PHRASE, 1)
    login(client, "staff1", STAFF_PW)
    assert client.get("/console/training").status_code == 403

    login(client, "admin1", ADMIN_PW)
    page = client.get("/console/training")
    assert page.status_code == 200 and "我住朝阳区那事咋样了" in page.text and "置信度低" in page.text
    csrf = csrf_of(page.text)
    wrong = client.post("/console/training/label", data={"csrf_token": csrf, "ids": str(item), "intent": "check_status",
                                                        "marked": "我住[朝阳](region)那事咋样了"})
    assert "不能改动原文" in wrong.text
    done = client.post("/console/training/label", data={
        "csrf_token": csrf, "ids": str(item), "intent": "check_status", "marked": "我住[朝阳区](region)那事咋样了"})
    assert done.status_code == 200 and "已把 1 条消息标注为“check_status”" in done.text
    assert "没有待标注的消息" in done.text
    assert client.post("/console/training/label", data={"ids": str(item), "intent": "x"}).status_code == 403  # no CSRF

    runs_page = client.get("/console/training/runs")
    assert "开始训练" in runs_page.text and LIVE in runs_page.text
    started = client.post("/console/training/runs", data={"csrf_token": csrf_of(runs_page.text)})
    assert started.status_code == 200 and "第 1 次训练" in started.text
    wait_for_run(client)
    run_page = client.get("/console/training/runs/1")
    assert "已完成" in run_page.text and "上线候选模型" in run_page.text and "混淆矩阵" in run_page.text
    assert "改对了" in run_page.text and "Refresh" not in run_page.headers
    promoted = client.post("/console/training/runs/1/promote", data={"csrf_token": csrf_of(run_page.text)})
    assert "已上线" in promoted.text and rasa.model_file != LIVE
    rolled = client.post("/console/training/rollback", data={"csrf_token": csrf_of(promoted.text)})
    assert f"已回滚到 {LIVE}" in rolled.text and rasa.model_file == LIVE
    assert "回滚到" in rolled.text and "上线" in rolled.text

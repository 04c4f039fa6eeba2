"""``bot inbox / train / evaluate / promote / rollback / models`` (in-process, fake toolchain and Rasa)."""
from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from bot.cli import main
from bot.settings import Settings
from bot.training import runs
from bot.training.capture import Capture, UserTurn
from bot.training.inbox import do_capture
from bot.training.model_cache import data_hash
from bot.training.models import CaptureReason
from tests.integration.training.fake_rasa import TOKEN, FakeRasa, fake_rasa
from tests.integration.training.helpers import FakeToolchain, gold, make_project

LIVE = "live0001.tar.gz"
PHRASE = "俺那档子事有人管没"


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    with fake_rasa(LIVE) as server:
        yield server


def run_cli(args: list[str], settings: Settings, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(args, settings=settings, stdout=out)
    return code, out.getvalue(), capsys.readouterr().err


def test_cli_loop(
    db_url: str, session_factory: sessionmaker, tmp_path: Path, rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = make_project(tmp_path / "project")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / LIVE).write_bytes(b"live")
    settings = Settings(database_url=db_url, training_project_dir=str(project), models_dir=str(tmp_path / "models"),
                        rasa_url=rasa.url, rasa_token=TOKEN, training_regression_set=str(project / "regression.yml"),
                        training_cv_folds=2)
    turn = UserTurn("s", PHRASE, "greet", 0.2, False, "wechat", datetime(2026, 11, 20, tzinfo=timezone.utc), "m1")
    item = do_capture(session_factory, Capture(turn, CaptureReason.LOW_CONFIDENCE), hash_key="k")

    code, out, _ = run_cli(["inbox"], settings, capsys)
    assert code == 0 and "待标注 1 条" in out and f"[{item.group_key}]" in out and PHRASE in out
    code, out, _ = run_cli(["inbox", "label", "--group", item.group_key, "--intent", "check_status"], settings, capsys)
    assert code == 0 and "nlu_data/nlu/inbox_wechat.yml" in out
    assert PHRASE in (project / "nlu_data/nlu/inbox_wechat.yml").read_text(encoding="utf-8")
    code, _, err = run_cli(["inbox", "dismiss", "--id", str(item.id)], settings, capsys)
    assert code == 1 and "处理过了" in err

    toolchain = FakeToolchain(gold(project) | {PHRASE: "check_status"}, answers={LIVE: {PHRASE: "greet"}})
    monkeypatch.setattr(runs, "RasaToolchain", lambda **_kw: toolchain)
    code, out, _ = run_cli(["train"], settings, capsys)
    assert code == 0, out
    assert "== 训练候选模型 ==" in out and "[改对] 俺那档子事有人管没  标注 check_status：greet → check_status" in out
    assert "可以上线" in out and "bot promote --run 1" in out
    code, out, _ = run_cli(["evaluate"], settings, capsys)
    assert code == 0 and "第 1 次训练" in out and "check_status" in out

    candidate = f"{data_hash(project)}.tar.gz"
    code, out, _ = run_cli(["promote"], settings, capsys)
    assert code == 0 and f"已上线 {candidate}" in out and rasa.model_file == candidate
    code, _, err = run_cli(["promote", "--run", "1"], settings, capsys)
    assert code == 1 and "已经在线上" in err
    code, out, _ = run_cli(["models"], settings, capsys)
    assert code == 0 and f"线上模型：{candidate}" in out and "上线" in out
    code, out, _ = run_cli(["rollback"], settings, capsys)
    assert code == 0 and f"已回滚到 {LIVE}" in out and rasa.model_file == LIVE

    toolchain.fail_step = "validate"
    code, out, _ = run_cli(["train"], settings, capsys)
    assert code == 1 and "训练失败" in out and "domain.yml has a problem" in out
    code, out, _ = run_cli(["evaluate", "--run", "2"], settings, capsys)
    assert code == 1 and "没有对比结果" in out

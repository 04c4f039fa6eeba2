"""The Telegram channel inside a real ``rasa run`` (trained model, no action server), talking to
the local stand-in Bot API. Enabled through a temporary credentials.yml and the environment.

No TELEGRAM_WEBHOOK_URL is set, so the channel also long-polls the stand-in (development mode):
updates arrive both through the webhook and through getUpdates, on the same path.

Uses the session's trained model (trained once per data hash, like every Rasa test);
``TELEGRAM_E2E_MODEL=<model.tar.gz>`` runs it with any existing model instead.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator

import httpx
import pytest

from bot.settings import PROJECT_ROOT
from tests.integration.channels.telegram_standin import TelegramStandIn
from tests.rasa_fixtures import _Proc, _tail, free_port, trained_model, venv_bin  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]

TOKEN = "654321:E2E-token"
SECRET = "e2e-secret"
HEADER = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
CHAT = 4711


@pytest.fixture(scope="module")
def rasa_telegram(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[str, TelegramStandIn]]:
    model = os.environ.get("TELEGRAM_E2E_MODEL", "") or str(request.getfixturevalue("trained_model"))
    workdir = tmp_path_factory.mktemp("telegram-e2e")
    (workdir / "credentials.yml").write_text("rest:\nbot.channels.telegram.TelegramInput:\n", encoding="utf-8")
    (workdir / "endpoints.yml").write_text(
        f"action_endpoint:\n  url: http://127.0.0.1:{free_port()}/webhook\n", encoding="utf-8")
    standin = TelegramStandIn(TOKEN).start()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WECHAT_"))}
    env.update(PYTHONPATH=str(PROJECT_ROOT), PYTHONUNBUFFERED="1", RASA_TELEMETRY_ENABLED="false",
               TF_CPP_MIN_LOG_LEVEL="2", TELEGRAM_TOKEN=TOKEN, TELEGRAM_WEBHOOK_SECRET=SECRET,
               TELEGRAM_API_BASE=standin.base_url, TELEGRAM_OFFSET_FILE=str(workdir / "offset.json"),
               DATABASE_URL=f"sqlite:///{workdir / 'cases.db'}", ATTACHMENTS_DIR=str(workdir / "files"))
    proc = _Proc("rasa", [
        venv_bin("rasa"), "run", "--model", model, "--port", str(port), "--interface", "127.0.0.1",
        "--credentials", str(workdir / "credentials.yml"), "--endpoints", str(workdir / "endpoints.yml"),
    ], workdir / "rasa.log")
    proc.start(env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if not proc.alive():
                pytest.fail(f"rasa exited:\n{_tail(proc.log_path, 80)}")
            try:
                if httpx.get(f"{url}/webhooks/telegram/", timeout=3).json().get("status") == "ok":
                    break
            except (httpx.HTTPError, ValueError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"rasa not ready:\n{_tail(proc.log_path, 80)}")
            time.sleep(1)
        yield url, standin
    finally:
        proc.stop()
        standin.stop()


def _update(update_id: int, text: str) -> dict[str, object]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1700000000, "text": text,
        "chat": {"id": CHAT, "type": "private"}, "from": {"id": CHAT, "is_bot": False, "first_name": "李"},
    }}


def test_start_and_help_through_rasa(rasa_telegram: tuple[str, TelegramStandIn]) -> None:
    url, standin = rasa_telegram
    webhook = f"{url}/webhooks/telegram/webhook"
    forged = {"X-Telegram-Bot-Api-Secret-Token": "forged"}
    assert httpx.post(webhook, json=_update(1, "/start"), headers=forged, timeout=10).status_code == 403
    resp = httpx.post(webhook, json=_update(2, "/start"), headers=HEADER, timeout=10)
    assert resp.status_code == 200, resp.text
    [greeting] = standin.wait_for("sendMessage", 1, timeout=60, chat_id=CHAT)
    assert "信访服务助手" in greeting.params["text"]
    rows = greeting.params["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in rows] == ["/start_petition", "/ask_legal_channel", "/check_status"]

    assert httpx.post(webhook, json=_update(3, "/help"), headers=HEADER, timeout=10).status_code == 200
    sent = standin.wait_for("sendMessage", 2, timeout=60, chat_id=CHAT)
    assert "登记信访事项" in sent[1].params["text"]


def test_long_polling_through_rasa(rasa_telegram: tuple[str, TelegramStandIn]) -> None:
    _, standin = rasa_telegram
    chat = CHAT + 1
    update = _update(100, "/start")
    update["message"]["chat"]["id"] = update["message"]["from"]["id"] = chat
    standin.push_update(update)
    [greeting] = standin.wait_for("sendMessage", 1, timeout=60, chat_id=chat)
    assert "信访服务助手" in greeting.params["text"]
    assert standin.calls_of("deleteWebhook"), "polling starts by removing a webhook"

    # a photo through polling: fetched with getFile, downloaded, stored, confirmed
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(300)
    standin.add_file("e2e-photo", jpeg, "photos/e2e.jpg")
    photo = _update(101, "")
    del photo["message"]["text"]
    photo["message"]["chat"]["id"] = photo["message"]["from"]["id"] = chat
    photo["message"]["photo"] = [{"file_id": "e2e-photo", "file_unique_id": "p", "width": 800, "height": 600,
                                  "file_size": len(jpeg)}]
    standin.push_update(photo)
    sent = standin.wait_for("sendMessage", 2, timeout=60, chat_id=chat)
    assert sent[1].params["text"].startswith("已收到您发送的图片")
    assert [c.params["file_path"] for c in standin.calls_of("download")] == ["photos/e2e.jpg"]

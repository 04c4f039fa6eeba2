"""The whole stack comes up, chats over REST and protects the back-office API."""
from __future__ import annotations

import pytest

from tests.rasa_fixtures import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]


@pytest.mark.parametrize("text", ["hello", "你好"])
def test_rest_channel_answers(stack: Stack, text: str) -> None:
    replies = stack.send(f"smoke-{text.encode().hex()}", text)
    assert replies, f"no reply to {text!r}\n{stack.logs()}"
    assert any(r.get("text") or r.get("buttons") or r.get("custom") for r in replies), replies


def test_rasa_api_needs_token(stack: Stack) -> None:
    import httpx

    assert httpx.get(f"{stack.rasa_url}/status", timeout=10).status_code in (401, 403)
    status = httpx.get(f"{stack.rasa_url}/status", params={"token": stack.rasa_token}, timeout=10)
    assert status.status_code == 200
    assert status.json()["model_file"]


def test_cases_api_requires_token(stack: Stack) -> None:
    ok = stack.api("GET", "/api/cases")
    assert ok.status_code == 200, f"{ok.status_code} {ok.text}\n{stack.logs()}"
    body = ok.json()
    assert isinstance(body, list) or isinstance(body.get("items"), list), body
    assert stack.api("GET", "/api/cases", token=None).status_code == 401
    assert stack.api("GET", "/api/cases", token="wrong-token").status_code in (401, 403)


def test_action_server_health(stack: Stack) -> None:
    import httpx

    assert httpx.get(f"{stack.actions_url}/health", timeout=10).status_code == 200

"""Personal data in the running stack: what lands on disk is encrypted, and a Rasa server
restarted in the middle of the petition form carries on where the citizen was.

The second test runs its own ``rasa run`` (same model, same action server as the shared
stack, its own encrypted tracker database) so that stopping it disturbs no other test.
"""
from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from stdnum.cn import ric

from tests.pii_keys import TEST_PII_KEYS
from tests.rasa_fixtures import READY_TIMEOUT, TEST_RASA_TOKEN, Stack, _Proc, free_port, venv_bin

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]


def unique_identity() -> tuple[str, str]:
    """A checksum-valid resident ID and a mobile number no other test uses."""
    body = f"110105{random.randint(1950, 2000)}0{random.randint(1, 9)}1{random.randint(0, 9)}{random.randint(100, 999)}"
    return body + ric.calc_check_digit(body + "0"), f"139{random.randint(10_000_000, 99_999_999)}"


def db_bytes(path: Path) -> bytes:
    """The database file plus its journal / WAL, as an attacker with the disk would read them."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())


def chat(send: object, sender: str, text: str) -> str:
    replies = send(sender, text)  # type: ignore[operator]
    return "\n".join(r.get("text", "") for r in replies)


def test_no_plaintext_id_or_phone_on_disk(stack: Stack) -> None:
    id_number, phone = unique_identity()
    sender = f"privacy-{uuid.uuid4().hex[:10]}"
    chat(stack.send, sender, "我想反映一个问题")
    chat(stack.send, sender, "同意")
    chat(stack.send, sender, f"我叫李秀英，电话{phone}，身份证{id_number}，住在浙江省杭州市西湖区文三路1号")
    slots = stack.tracker(sender)["slots"]
    assert (slots["phone"], slots["id_number"]) == (phone, id_number), stack.logs()

    # a letter entered by staff with the same person: stored through the same case service
    created = stack.api("POST", "/api/cases", json={
        "channel": "letter", "petitioner_name": "李秀英", "facts": "来信反映小区物业乱收费。",
        "demand": "请依法处理。", "consent": True, "id_number": id_number, "phone": phone,
    })
    assert created.status_code == 201, created.text
    case = stack.api("GET", f"/api/cases/{created.json()['case_no']}").json()
    assert (case["id_number"], case["phone"]) == (id_number, phone)

    tracker_raw = db_bytes(stack.workdir / "tracker.db")
    assert b"pii1:" in tracker_raw
    cases_raw = db_bytes(stack.workdir / "cases.db")
    for raw, name in ((tracker_raw, "tracker"), (cases_raw, "cases")):
        for secret in (id_number, phone):
            assert secret.encode() not in raw, f"{secret} in clear in the {name} database"
    assert b"pii1:" in cases_raw  # the letter's ID and phone are there, encrypted


class OwnRasa:
    """One ``rasa run`` process that can be stopped and started again on the same tracker DB."""

    def __init__(self, stack: Stack, workdir: Path) -> None:
        self.stack = stack
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        endpoints = workdir / "endpoints.yml"
        endpoints.write_text(
            f"action_endpoint:\n  url: {stack.actions_url}/webhook\n"
            "tracker_store:\n  type: bot.dialogue.tracker_store.EncryptedSQLTrackerStore\n"
            f"  dialect: sqlite\n  db: {workdir / 'tracker.db'}\n",
            encoding="utf-8",
        )
        from bot.settings import PROJECT_ROOT

        self.cmd = [
            venv_bin("rasa"), "run", "--enable-api", "--auth-token", TEST_RASA_TOKEN, "--model", str(stack.model),
            "--port", str(self.port), "--interface", "127.0.0.1",
            "--credentials", str(PROJECT_ROOT / "credentials.yml"), "--endpoints", str(endpoints),
        ]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WECHAT_"))}
        self.env.update(PYTHONPATH=str(PROJECT_ROOT), PYTHONUNBUFFERED="1", PII_KEYS=TEST_PII_KEYS,
                        RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", DATABASE_URL=stack.database_url,
                        SQLALCHEMY_SILENCE_UBER_WARNING="1")
        self.proc: _Proc | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        self.proc = _Proc(f"rasa-restart-{self.starts}", self.cmd, self.workdir / f"rasa-{self.starts}.log")
        self.proc.start(self.env)
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc.alive(), f"rasa exited during start:\n{self.log()}"
            try:
                status = httpx.get(f"{self.url}/status", params={"token": TEST_RASA_TOKEN}, timeout=3)
                if status.status_code == 200 and status.json().get("model_file"):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        pytest.fail(f"rasa not ready after {READY_TIMEOUT}s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in sorted(self.workdir.glob("rasa-*.log")))

    def send(self, sender: str, text: str) -> list[dict[str, object]]:
        resp = httpx.post(f"{self.url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60)
        assert resp.status_code == 200, f"{resp.status_code} {resp.text}\n{self.log()}"
        data: list[dict[str, object]] = resp.json()
        return data

    def slots(self, sender: str) -> dict[str, object]:
        resp = httpx.get(f"{self.url}/conversations/{sender}/tracker", params={"token": TEST_RASA_TOKEN}, timeout=30)
        resp.raise_for_status()
        slots: dict[str, object] = resp.json()["slots"]
        return slots


@pytest.fixture
def own_rasa(stack: Stack, tmp_path: Path) -> Iterator[OwnRasa]:
    rasa = OwnRasa(stack, tmp_path)
    rasa.start()
    try:
        yield rasa
    finally:
        rasa.stop()


def test_rasa_restart_mid_form_resumes_the_conversation(own_rasa: OwnRasa) -> None:
    id_number, phone = unique_identity()
    sender = f"restart-{uuid.uuid4().hex[:10]}"
    chat(own_rasa.send, sender, "我要投诉")
    chat(own_rasa.send, sender, "同意")
    asked = chat(own_rasa.send, sender, "王建国")
    before = own_rasa.slots(sender)
    assert before["petitioner_name"] == "王建国" and before["requested_slot"] == "id_number", (before, asked)

    own_rasa.stop()  # the server goes away in the middle of the form ...
    assert id_number.encode() not in db_bytes(own_rasa.workdir / "tracker.db")
    own_rasa.start()  # ... and a new process takes over the same tracker store

    after_restart = own_rasa.slots(sender)
    assert after_restart["petitioner_name"] == "王建国" and after_restart["requested_slot"] == "id_number"
    reply = chat(own_rasa.send, sender, id_number)  # the answer to the question asked before the restart
    slots = own_rasa.slots(sender)
    assert slots["id_number"] == id_number, f"{reply}\n{own_rasa.log()}"
    assert slots["requested_slot"] == "phone" and "电话" in reply, reply
    chat(own_rasa.send, sender, phone)
    assert own_rasa.slots(sender)["phone"] == phone
    raw = db_bytes(own_rasa.workdir / "tracker.db")
    assert id_number.encode() not in raw and phone.encode() not in raw and b"pii1:" in raw

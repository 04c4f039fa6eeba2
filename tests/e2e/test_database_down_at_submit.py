"""The case database is down when a citizen confirms a petition over REST: kept, stored later, numbered once.

A stack of its own (tests/rasa_fixtures.start_stack): the case database is a fresh PostgreSQL
database reached through tests/tcp_proxy.py, so the test can take it away (connections cut,
new ones refused) and bring it back; the spool drainer and the outbox run in the back-office
with short intervals. The Rasa tracker store stays SQLite, as the conversation does not need
the case database.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from actions.stray import KEPT_ALREADY
from actions.submit import KEPT
from bot.cases.spool import STORED_LATER_HEAD
from bot.channels.contacts import DEFAULT_RETRY_AFTER
from tests.db_fixtures import throwaway_postgres_database
from tests.rasa_fixtures import Stack, start_stack
from tests.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.e2e, pytest.mark.rasa, pytest.mark.postgres]

CASE_NO = re.compile(r"XF\d{8}-\d{4}")
# a persona no other test uses
NAME = "祁慕远"
ID_NUMBER = "320106198109234711"
PHONE = "13813572468"
ADDRESS = "江苏省南京市鼓楼区中山路100号"
RESPONDENT = "南京某某物业管理有限公司"
FACTS = "物业公司没有经过业主大会同意，擅自把物业费从每平方米1.5元涨到2.8元，多次找他们都没有回应"
DEMAND = "要求物业公司退还多收的物业费"
ANSWERS = {
    "consent": "同意",
    "petition_type": "申诉求决",
    "petitioner_name": f"我叫{NAME}",
    "id_number": ID_NUMBER,
    "phone": PHONE,
    "address": ADDRESS,
    "issue_region": "与住址相同",
    "respondent": RESPONDENT,
    "occurred_on": "去年三月",
    "facts": FACTS,
    "category": "是的",
    "demand": DEMAND,
    "people_count": "就我一个人",
    "prior_procedure": "没有",
    "channel_choice": "仍然提交信访",
}


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this module (dropped afterwards)."""
    with throwaway_postgres_database("outage") as url:
        yield url


@pytest.fixture(scope="module")
def db_proxy(pg_database: str) -> Iterator[TcpProxy]:
    url = make_url(pg_database)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def outage_stack(request: pytest.FixtureRequest, trained_model: Path, pg_database: str,
                 db_proxy: TcpProxy) -> Iterator[Stack]:
    url = make_url(pg_database).set(host="127.0.0.1", port=db_proxy.port).render_as_string(hide_password=False)
    workdir = Path(tempfile.mkdtemp(prefix="xinfang-outage-"))
    stack = start_stack(trained_model, workdir, database_url=url, extra_env={
        "SUBMIT_SPOOL_POLL_SECONDS": "1", "SUBMIT_SPOOL_RETRY_BASE_SECONDS": "1",
        "SUBMIT_SPOOL_RETRY_MAX_SECONDS": "3", "OUTBOX_POLL_SECONDS": "1",
    })
    failures = request.session.testsfailed
    try:
        yield stack
    finally:
        stack.stop()
        if request.session.testsfailed > failures:
            print(f"logs kept in {workdir}\n{stack.logs(150)}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def spool_files(stack: Stack) -> list[Path]:
    directory = stack.workdir / "spool"
    return sorted(directory.glob("*.spool")) if directory.exists() else []


def fill_the_form(stack: Stack, sender: str) -> str:
    """Answer whatever the form asks until it shows the summary; the summary's text."""
    reply = "\n".join(stack.texts(sender, "我想反映一个问题"))
    for _ in range(2 * len(ANSWERS)):
        asked = stack.tracker(sender)["slots"].get("requested_slot")
        if asked == "confirm":
            return reply
        assert asked in ANSWERS, f"unexpected question {asked!r}: {reply}\n{stack.logs()}"
        reply = "\n".join(stack.texts(sender, ANSWERS[str(asked)]))
    raise AssertionError(f"the form did not reach the summary: {reply}")


def test_petition_confirmed_while_the_database_is_down_gets_its_number_once(
    outage_stack: Stack, db_proxy: TcpProxy,
) -> None:
    stack = outage_stack
    sender = f"outage-{uuid.uuid4().hex[:10]}"
    summary = fill_the_form(stack, sender)
    assert NAME in summary and PHONE in summary, summary

    db_proxy.stop()
    try:
        # a double click: the confirmation arrives twice at the same moment
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda _: stack.texts(sender, "确认提交"), range(2)))
        went_down_at = time.monotonic()
        kept = [texts for texts in answers if KEPT in texts]
        assert len(kept) == 1, f"{answers}\n{stack.logs()}"
        assert [KEPT_ALREADY] in answers, answers  # the second press: no second submission needed
        assert not any(CASE_NO.search(t) for texts in answers for t in texts)
        [entry] = spool_files(stack)
        raw = entry.read_bytes()
        for secret in (ID_NUMBER, PHONE, NAME):
            assert secret.encode("utf-8") not in raw
        slots = stack.tracker(sender)["slots"]
        assert slots["petitioner_name"] is None and slots["id_number"] is None and slots["confirm"] is None
    finally:
        db_proxy.start()

    deadline = time.monotonic() + 90
    while spool_files(stack) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not spool_files(stack), f"the spool was not drained\n{stack.logs()}"

    # REST without a callback URL: the number comes in front of the reply to the next message. The
    # channel leaves the database alone for a while after it failed (bot/channels/contacts.py).
    time.sleep(max(0.0, went_down_at + DEFAULT_RETRY_AFTER + 1 - time.monotonic()))
    replies = stack.texts(sender, "你好")
    assert replies and replies[0].startswith(STORED_LATER_HEAD), f"{replies}\n{stack.logs()}"
    [case_no] = CASE_NO.findall(replies[0])
    assert sum(bool(CASE_NO.search(r)) for r in replies) == 1
    # delivered once: the next reply does not bring it again
    assert not any(CASE_NO.search(r) for r in stack.texts(sender, "谢谢"))

    listed = stack.api("GET", "/api/cases").json()
    items = listed["items"] if isinstance(listed, dict) else listed
    assert [item["case_no"] for item in items] == [case_no]
    case = stack.api("GET", f"/api/cases/{case_no}", params={"reveal": "1"}).json()
    expected = {
        "status": "registered", "channel": "rest", "petition_type": "grievance", "petitioner_name": NAME,
        "id_number": ID_NUMBER, "phone": PHONE, "address": ADDRESS, "respondent": RESPONDENT,
        "facts": FACTS, "demand": DEMAND, "people_count": 1, "prior_procedure": "none", "consent": True,
    }
    assert {k: case.get(k) for k in expected} == expected
    assert case["issue_region"].startswith("江苏省南京市鼓楼区") and case["category"] == "housing"

"""The case queue service on SQLite and PostgreSQL: lifecycle, audit, outbox, claims, ratings,
escalations, statistics, filters, routing and repeat petitions."""
from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from bot.cases.db import make_engine, make_session_factory, migrate, transaction
from bot.cases.deadlines import acceptance_due, add_days, answer_due, recheck_answer_due, review_answer_due
from bot.cases.departments import do_replace_routing_table, get_routing_table
from bot.cases.models import Case, CaseEvent
from bot.cases.queue import (
    dashboard_stats,
    do_assign,
    do_case_action,
    do_claim,
    do_claim_next,
    do_rate_case,
    do_release,
    do_reply,
    escalations,
)
from bot.cases.routing import default_table, table_to_dict
from bot.cases.routing_models import RoutingEvent
from bot.cases.service import UNCLAIMED, PetitionSubmission, do_submit_petition, get_case, list_cases
from bot.cases.workflow import Actor
from bot.errors import Conflict, Forbidden, InvalidField, InvalidInput, InvalidTransition, NotFound
from bot.outbox.models import OutboxMessage

NOW = datetime(2026, 11, 23, 2, 30, tzinfo=timezone.utc)  # 10:30 in Beijing
LI = Actor("li", "staff")
WANG = Actor("wang", "staff")
BOSS = Actor("boss", "admin")
CITIZEN = Actor("telegram:u1", "citizen")

BASE = PetitionSubmission(
    petition_type="grievance",
    petitioner_name="张三",
    id_number="11010519491231002X",
    phone="13812345678",
    address="北京市朝阳区建国路1号",
    issue_region="北京市朝阳区",
    category="labor_social_security",
    respondent="北京某建筑工程有限公司",
    occurred_on="2026-10-15",
    facts="我在该公司工地做工，2026年8月至10月的工资共计三万二千元至今未发。多次讨要无果。",
    demand="请求责令公司支付拖欠的工资。",
    people_count=1,
    prior_procedure="none",
    consent=True,
    channel="telegram",
    sender_id="u1",
    conversation_id="u1",
)
OTHER_FACTS = [
    ("小区旁边的化工厂每天夜里排放刺鼻废气，居民头晕恶心。", "某化工厂", "environment"),
    ("孩子所在学校违规收取补课费，每学期一千元。", "实验中学", "education"),
    ("医院做检查时重复收费八百元。", "人民医院", "healthcare"),
]


def sub(**overrides: Any) -> PetitionSubmission:
    return replace(BASE, **overrides)


def submit(factory: sessionmaker, at: datetime = NOW, **overrides: Any) -> str:
    return do_submit_petition(factory, sub(**overrides), now=at).case_no


def outbox(factory: sessionmaker) -> list[OutboxMessage]:
    with transaction(factory) as s:
        return list(s.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def events(factory: sessionmaker, case_no: str) -> list[tuple[str, str | None, str | None, str]]:
    return [(e.action, e.from_status, e.to_status, e.actor) for e in get_case(factory, case_no).events]


# ----------------------------------------------------------------------------- lifecycle


def test_full_lifecycle_with_audit_clock_and_citizen_messages(session_factory: sessionmaker) -> None:
    no = submit(session_factory)
    t = [NOW + timedelta(days=d) for d in range(0, 200)]
    do_claim(session_factory, no, LI, now=t[1])
    case = do_case_action(session_factory, no, "accept", LI, {"note": "属于本机关职责"}, now=t[2])
    assert case.status == "accepted" and case.due_at == answer_due(t[2]) and case.accepted_at == t[2]
    assert do_case_action(session_factory, no, "start", LI, now=t[3]).due_at == answer_due(t[2])
    case = do_case_action(session_factory, no, "extend", LI, {"reason": "需要调取工地考勤"}, now=t[50])
    assert case.extended and case.due_at == add_days(t[2], 90) and case.status == "in_progress"
    with pytest.raises(InvalidTransition):
        do_case_action(session_factory, no, "extend", LI, {"reason": "再延一次"}, now=t[51])
    case = do_case_action(session_factory, no, "answer", LI, {"answer": "经核查，公司已补发工资。"}, now=t[80])
    assert case.status == "answered" and case.due_at is None and case.answer_text == "经核查，公司已补发工资。"
    case = do_case_action(session_factory, no, "request_review", CITIZEN, {"reason": "只补发了一部分"}, now=t[90])
    assert case.status == "review_requested" and case.due_at == review_answer_due(t[90])
    case = do_case_action(session_factory, no, "answer_review", LI, {"answer": "维持原意见。"}, now=t[100])
    assert case.status == "review_answered" and case.due_at is None
    case = do_case_action(session_factory, no, "request_recheck", CITIZEN, {"reason": "仍不服"}, now=t[110])
    assert case.due_at == recheck_answer_due(t[110])
    case = do_case_action(session_factory, no, "answer_recheck", BOSS, {"answer": "维持复查意见。"}, now=t[120])
    assert case.status == "recheck_answered"
    case = do_case_action(session_factory, no, "close", LI, now=t[121])
    assert case.status == "closed" and case.closed_at == t[121]

    assert events(session_factory, no) == [
        ("submit", None, "registered", "citizen:telegram:u1"),
        ("claim", "registered", "registered", "staff:li"),
        ("accept", "registered", "accepted", "staff:li"),
        ("start", "accepted", "in_progress", "staff:li"),
        ("extend", "in_progress", "in_progress", "staff:li"),
        ("answer", "in_progress", "answered", "staff:li"),
        ("request_review", "answered", "review_requested", "citizen:telegram:u1"),
        ("answer_review", "review_requested", "review_answered", "staff:li"),
        ("request_recheck", "review_answered", "recheck_requested", "citizen:telegram:u1"),
        ("answer_recheck", "recheck_requested", "recheck_answered", "admin:boss"),
        ("close", "recheck_answered", "closed", "staff:li"),
    ]
    notes = {e.action: e.note for e in get_case(session_factory, no).events}
    assert notes["accept"] == "属于本机关职责" and notes["extend"] == "需要调取工地考勤"
    assert notes["answer"] == "经核查，公司已补发工资。"

    messages = outbox(session_factory)
    assert [m.kind for m in messages] == ["status"] * 8 + ["satisfaction"]
    assert all((m.channel, m.recipient) == ("telegram", "u1") and no in m.text for m in messages)
    assert "延长30日" in messages[2].text
    assert len(messages[-1].buttons) == 5 and messages[-1].buttons[4]["payload"].endswith('"rating":5}')
    ids = [e.id for e in get_case(session_factory, no).events if e.action not in ("submit", "claim")]
    assert [m.dedupe_key for m in messages] == [f"status:{no}:{i}" for i in ids]

    rated = do_rate_case(session_factory, no, "telegram", "u1", 4, now=t[122])
    assert rated.satisfaction == 4 and rated.rated_at == t[122]
    with pytest.raises(Conflict):
        do_rate_case(session_factory, no, "telegram", "u1", 5)
    assert events(session_factory, no)[-1] == ("rate", "closed", "closed", "citizen:telegram:u1")
    with pytest.raises(InvalidTransition):  # closed is final
        do_case_action(session_factory, no, "request_review", CITIZEN, {"reason": "x"})


def test_not_accepted_then_closed(session_factory: sessionmaker) -> None:
    no = submit(session_factory)
    with pytest.raises(InvalidField) as info:
        do_case_action(session_factory, no, "not_accept", LI, {"reason": "属于劳动争议"})
    assert info.value.field == "legal_channel"
    case = do_case_action(session_factory, no, "not_accept", LI,
                          {"reason": "属于劳动争议", "legal_channel": "labor_arbitration"}, now=NOW)
    assert (case.status, case.not_accepted_reason, case.suggested_channel) == (
        "not_accepted", "属于劳动争议", "labor_arbitration")
    assert "申请劳动仲裁" in outbox(session_factory)[0].text
    assert do_case_action(session_factory, no, "close", LI).status == "closed"


def test_failed_actions_change_nothing(session_factory: sessionmaker) -> None:
    no = submit(session_factory)
    for action, params in [("answer", {"answer": "x"}), ("accept", {"bogus": "x"}), ("transfer", {"reason": "x"})]:
        with pytest.raises((InvalidTransition, InvalidInput)):
            do_case_action(session_factory, no, action, LI, params)
    with pytest.raises(Forbidden):
        do_case_action(session_factory, no, "accept", CITIZEN)
    with pytest.raises(NotFound):
        do_case_action(session_factory, "XF20991231-0001", "accept", LI)
    assert events(session_factory, no) == [("submit", None, "registered", "citizen:telegram:u1")]
    assert outbox(session_factory) == []


def test_transfer_routes_to_a_known_department_and_tells_the_citizen(session_factory: sessionmaker) -> None:
    no = submit(session_factory)
    with pytest.raises(InvalidField):
        do_case_action(session_factory, no, "transfer", LI, {"department": "nowhere", "reason": "x"})
    case = do_case_action(session_factory, no, "transfer", LI, {"department": "sfj", "reason": "涉及法律援助"}, now=NOW)
    assert (case.status, case.department_code, case.due_at) == ("transferred", "sfj", acceptance_due(NOW))
    assert "司法局" in outbox(session_factory)[0].text
    # sent on again to the right organ (Art 23)
    assert do_case_action(session_factory, no, "transfer", LI, {"department": "rsj", "reason": "转人社"}).department_code == "rsj"


def test_letters_get_no_chat_messages(session_factory: sessionmaker) -> None:
    no = submit(session_factory, channel="letter", sender_id=None, conversation_id=None, actor="staff:li")
    do_case_action(session_factory, no, "accept", LI)
    assert outbox(session_factory) == []
    with pytest.raises(InvalidInput):
        do_reply(session_factory, no, LI, "请补充材料")


def test_reply_goes_to_the_outbox_with_an_audit_row(session_factory: sessionmaker) -> None:
    no = submit(session_factory)
    do_reply(session_factory, no, LI, "请您补充工资条的照片。", now=NOW)
    message = outbox(session_factory)[0]
    assert (message.kind, message.channel, message.recipient) == ("reply", "telegram", "u1")
    assert "请您补充工资条的照片。" in message.text
    event = get_case(session_factory, no).events[-1]
    assert (event.action, event.actor, event.note) == ("reply", "staff:li", "请您补充工资条的照片。")
    assert message.dedupe_key == f"reply:{no}:{event.id}"
    do_claim(session_factory, no, WANG)
    with pytest.raises(Conflict):
        do_reply(session_factory, no, LI, "再问一次")
    with pytest.raises(Forbidden):
        do_reply(session_factory, no, CITIZEN, "我自己")
    with pytest.raises(InvalidField):
        do_reply(session_factory, no, WANG, "   ")


def test_rating_rules(session_factory: sessionmaker) -> None:
    no = submit(session_factory)
    with pytest.raises(InvalidTransition):
        do_rate_case(session_factory, no, "telegram", "u1", 5)
    do_case_action(session_factory, no, "not_accept", LI, {"reason": "x", "legal_channel": "mediation"})
    do_case_action(session_factory, no, "close", LI)
    with pytest.raises(Forbidden):
        do_rate_case(session_factory, no, "telegram", "someone-else", 5)
    for bad in (0, 6, True, "5"):
        with pytest.raises(InvalidField):
            do_rate_case(session_factory, no, "telegram", "u1", bad)  # type: ignore[arg-type]
    assert do_rate_case(session_factory, no, "telegram", "u1", 1).satisfaction == 1


# ----------------------------------------------------------------------------- queue


def test_claim_release_assign(session_factory: sessionmaker) -> None:
    no = submit(session_factory)
    assert do_claim(session_factory, no, LI).assignee == "li"
    assert do_claim(session_factory, no, LI).assignee == "li"  # again: no change, no new event
    with pytest.raises(Conflict) as info:
        do_claim(session_factory, no, WANG)
    assert "li" in info.value.user_message and info.value.http_status == 409
    with pytest.raises(Conflict):
        do_claim(session_factory, no, BOSS)  # nobody claims over someone: an admin assigns
    with pytest.raises(Conflict):
        do_release(session_factory, no, WANG)
    with pytest.raises(Conflict):
        do_case_action(session_factory, no, "accept", WANG)
    assert do_release(session_factory, no, LI, note="休假").assignee is None
    with pytest.raises(InvalidTransition):
        do_release(session_factory, no, LI)
    assert do_assign(session_factory, no, BOSS, "wang", note="熟悉劳动争议").assignee == "wang"
    assert do_case_action(session_factory, no, "accept", WANG).status == "accepted"
    assert do_release(session_factory, no, BOSS).assignee is None
    assert [e[0] for e in events(session_factory, no)] == [
        "submit", "claim", "release", "assign", "accept", "release"]


def _claim_all(factory: sessionmaker, case_no: str, workers: int) -> list[str]:
    barrier = threading.Barrier(workers)

    def claim(i: int) -> str:
        barrier.wait()
        try:
            do_claim(factory, case_no, Actor(f"staff{i}", "staff"))
            return "won"
        except Conflict:
            return "lost"

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(claim, range(workers)))


def test_parallel_claims_have_exactly_one_winner(session_factory: sessionmaker) -> None:
    for round_ in range(3):
        no = submit(session_factory, sender_id=f"racer-{round_}", id_number=None, phone=None)
        results = _claim_all(session_factory, no, 8)
        assert results.count("won") == 1 and results.count("lost") == 7
        case = get_case(session_factory, no)
        assert case.assignee and [e.action for e in case.events].count("claim") == 1


def _claim_in_process(url: str, case_no: str, name: str, start: Any, results: Any) -> None:
    from tests.pii_keys import use_test_keys

    use_test_keys()
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        start.wait(30)
        try:
            do_claim(factory, case_no, Actor(name, "staff"))
            results.put(("won", name))
        except Conflict:
            results.put(("lost", name))
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_claim_race_between_processes_on_postgresql(pg_url: str) -> None:
    """Separate processes (separate connections) claim at the same moment: one wins."""
    migrate(pg_url)
    engine = make_engine(pg_url)
    factory = make_session_factory(engine)
    try:
        no = submit(factory)
        ctx = multiprocessing.get_context("spawn")
        start, results = ctx.Event(), ctx.Queue()
        workers = [ctx.Process(target=_claim_in_process, args=(pg_url, no, f"staff{i}", start, results))
                   for i in range(4)]
        for w in workers:
            w.start()
        start.set()
        outcome = [results.get(timeout=60) for _ in workers]
        for w in workers:
            w.join(30)
        assert sorted(o for o, _ in outcome) == ["lost", "lost", "lost", "won"]
        winner = next(name for o, name in outcome if o == "won")
        assert get_case(factory, no).assignee == winner
    finally:
        engine.dispose()


def test_claim_next_hands_out_the_most_urgent_free_case(session_factory: sessionmaker) -> None:
    early = submit(session_factory, at=NOW - timedelta(days=5))
    late = submit(session_factory, at=NOW, sender_id="u2", id_number=None, phone=None)
    environment = submit(session_factory, at=NOW, sender_id="u3", id_number=None, phone=None,
                         facts=OTHER_FACTS[0][0], respondent=OTHER_FACTS[0][1], category="environment")
    assert do_claim_next(session_factory, LI, department="sthjj").case_no == environment
    assert do_claim_next(session_factory, LI).case_no == early
    assert do_claim_next(session_factory, WANG).case_no == late
    assert do_claim_next(session_factory, WANG) is None


def test_parallel_claim_next_gives_different_cases(session_factory: sessionmaker) -> None:
    numbers = {submit(session_factory, sender_id=f"p{i}", id_number=None, phone=None) for i in range(6)}
    barrier = threading.Barrier(6)

    def take(i: int) -> str | None:
        barrier.wait()
        case = do_claim_next(session_factory, Actor(f"s{i}", "staff"))
        return case.case_no if case else None

    with ThreadPoolExecutor(max_workers=6) as pool:
        taken = [n for n in pool.map(take, range(6)) if n]
    assert len(taken) == len(set(taken))
    assert set(taken) <= numbers


# ----------------------------------------------------------------------------- supervision and lists


def test_escalations_and_due_filters(session_factory: sessionmaker) -> None:
    overdue = submit(session_factory, at=NOW - timedelta(days=20))
    near = submit(session_factory, at=NOW - timedelta(days=13), sender_id="u2", id_number=None, phone=None)
    fresh = submit(session_factory, at=NOW, sender_id="u3", id_number=None, phone=None)
    closed = submit(session_factory, at=NOW - timedelta(days=40), sender_id="u4", id_number=None, phone=None)
    do_case_action(session_factory, closed, "not_accept", BOSS, {"reason": "x", "legal_channel": "mediation"},
                   now=NOW - timedelta(days=39))
    found = escalations(session_factory, now=NOW, near_days=3)
    assert [c.case_no for c in found.overdue] == [overdue]
    assert [c.case_no for c in found.near_due] == [near]
    assert [c.case_no for c in escalations(session_factory, now=NOW, near_days=15).near_due] == [near, fresh]
    assert [c.case_no for c in list_cases(session_factory, due="overdue", now=NOW)[0]] == [overdue]
    assert [c.case_no for c in list_cases(session_factory, due="near_due", now=NOW, near_days=3)[0]] == [near]
    assert [c.case_no for c in list_cases(session_factory, sort="due")[0]] == [overdue, near, fresh, closed]
    with pytest.raises(InvalidInput):
        list_cases(session_factory, due="soon")
    with pytest.raises(InvalidInput):
        list_cases(session_factory, sort="random")


def test_list_filters(session_factory: sessionmaker) -> None:
    beijing = submit(session_factory, people_count=12)
    guangzhou = submit(session_factory, sender_id="u2", id_number=None, phone=None, issue_region="广东省广州市天河区",
                       facts=OTHER_FACTS[1][0], respondent=OTHER_FACTS[1][1], category="education")
    do_claim(session_factory, guangzhou, WANG)
    nos = lambda **kw: [c.case_no for c in list_cases(session_factory, **kw)[0]]  # noqa: E731
    assert nos(region="广东省") == [guangzhou] and nos(region="北京市朝阳区") == [beijing]
    assert nos(department="jyj") == [guangzhou] and nos(department="rsj") == [beijing]
    assert nos(joint=True) == [beijing] and nos(joint=False) == [guangzhou]
    assert nos(claimed_by="wang") == [guangzhou] and nos(claimed_by=UNCLAIMED) == [beijing]
    assert nos(q="补课费") == [guangzhou] and nos(q=beijing.lower()) == [beijing] and nos(q="张三") == [guangzhou, beijing]
    assert nos(q="100%_") == []
    assert nos(status=["registered", "accepted"]) == [guangzhou, beijing]
    assert nos(category="education", claimed_by="wang") == [guangzhou]


def test_dashboard_stats(session_factory: sessionmaker) -> None:
    a = submit(session_factory, at=NOW - timedelta(days=20), people_count=3)
    b = submit(session_factory, sender_id="u2", id_number=None, phone=None, issue_region="广东省广州市天河区",
               facts=OTHER_FACTS[2][0], respondent=OTHER_FACTS[2][1], category="healthcare")
    do_case_action(session_factory, b, "not_accept", LI, {"reason": "x", "legal_channel": "mediation"}, now=NOW)
    do_case_action(session_factory, b, "close", LI, now=NOW)
    do_rate_case(session_factory, b, "telegram", "u2", 4)
    submit(session_factory, at=NOW - timedelta(days=19), people_count=3)  # a repeat of a: no new case
    stats = dashboard_stats(session_factory, now=NOW, near_days=3)
    assert stats["total"] == 2 and stats["open"] == 1 and stats["overdue"] == 1 and stats["joint"] == 1
    assert stats["by_status"]["registered"] == 1 and stats["by_status"]["closed"] == 1
    assert stats["by_category"] == {"labor_social_security": 1, "healthcare": 1}
    assert stats["by_province"] == {"北京市": 1, "广东省": 1}
    assert stats["by_city"] == {"北京市": 1, "广东省广州市": 1}
    assert stats["by_department"] == {"rsj": 1, "wjw": 1}
    assert stats["by_week"] == {"2026-W45": 1, "2026-W48": 1}
    assert stats["satisfaction"] == {"count": 1, "average": 4.0,
                                     "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}}
    assert stats["repeat_submissions"] == 1
    assert {r["respondent"] for r in stats["top_respondents"]} == {BASE.respondent, OTHER_FACTS[2][1]}
    assert dashboard_stats(session_factory, now=NOW, since=NOW - timedelta(days=1))["total"] == 1
    assert a


# ----------------------------------------------------------------------------- submit: routing, joint, repeats


def test_submit_routes_and_flags_joint_petitions(session_factory: sessionmaker) -> None:
    result = do_submit_petition(session_factory, sub(people_count=6), now=NOW)
    assert result.department_code == "rsj" and result.created
    case = get_case(session_factory, result.case_no)
    assert case.department_code == "rsj" and case.joint is True
    assert "人力资源和社会保障局" in case.events[0].note
    single = do_submit_petition(session_factory, sub(sender_id="x", id_number=None, phone=None, people_count=1,
                                                     category=None), now=NOW)
    assert get_case(session_factory, single.case_no).joint is False and single.department_code == "xfj"


def test_repeat_of_an_open_case_is_linked_not_duplicated(session_factory: sessionmaker) -> None:
    first = do_submit_petition(session_factory, sub(idempotency_key="k1"), now=NOW)
    again = do_submit_petition(
        session_factory,
        sub(idempotency_key="k2", facts="北京某建筑公司拖欠我8到10月工资3.2万元，一直不给，讨了好几次都没用。",
            respondent="北京某建筑公司", people_count=4),
        now=NOW + timedelta(days=2),
    )
    assert (again.created, again.duplicate_of, again.case_no) == (False, first.case_no, first.case_no)
    with transaction(session_factory) as s:
        assert s.execute(select(func.count()).select_from(Case)).scalar_one() == 1
    case = get_case(session_factory, first.case_no)
    assert case.joint is True  # the repeat says 4 people now
    repeat = case.events[-1]
    assert (repeat.action, repeat.actor, repeat.from_status, repeat.to_status) == (
        "repeat_submission", "citizen:telegram:u1", "registered", "registered")
    assert "3.2万元" in repeat.note
    # a retried delivery of the same repeat adds no second audit row
    do_submit_petition(session_factory, sub(idempotency_key="k2", facts=BASE.facts.replace("三万二千", "3.2万")),
                       now=NOW + timedelta(days=2))
    do_submit_petition(session_factory, sub(idempotency_key="k3", facts=BASE.facts.replace("三万二千", "3.2万")),
                       now=NOW + timedelta(days=2))
    assert [e.action for e in get_case(session_factory, first.case_no).events].count("repeat_submission") == 2


@pytest.mark.parametrize("same_person", [
    {"channel": "wechat", "sender_id": "o-9"},  # same ID number, another channel
    {"id_number": None, "phone": None},  # same chat account
    {"id_number": None, "sender_id": "new-account"},  # same phone
])
def test_the_same_petitioner_is_recognised_by_id_account_or_phone(session_factory: sessionmaker,
                                                                  same_person: dict[str, Any]) -> None:
    no = submit(session_factory)
    assert do_submit_petition(session_factory, sub(**same_person), now=NOW).duplicate_of == no


def test_other_people_and_other_matters_get_their_own_case(session_factory: sessionmaker) -> None:
    no = submit(session_factory)
    other_person = do_submit_petition(session_factory, sub(id_number="110105194912310038"), now=NOW)
    assert other_person.created and other_person.case_no != no  # same phone, different ID: another person
    stranger = do_submit_petition(session_factory, sub(sender_id="zz", id_number=None, phone=None), now=NOW)
    assert stranger.created
    facts, respondent, category = OTHER_FACTS[0]
    other_matter = do_submit_petition(session_factory, sub(facts=facts, respondent=respondent, category=category),
                                      now=NOW)
    assert other_matter.created and other_matter.duplicate_of is None and other_matter.department_code == "sthjj"


def test_same_matter_after_the_case_ended_is_a_new_linked_case(session_factory: sessionmaker) -> None:
    no = submit(session_factory)
    for action, params in [("accept", {}), ("answer", {"answer": "已处理"}), ("request_review", {"reason": "x"}),
                           ("answer_review", {"answer": "维持"}), ("request_recheck", {"reason": "x"}),
                           ("answer_recheck", {"answer": "维持"}), ("close", {})]:
        do_case_action(session_factory, no, action, BOSS, params, now=NOW)
    again = do_submit_petition(session_factory, sub(), now=NOW + timedelta(days=5))
    assert again.created and again.linked_to == no and again.duplicate_of is None
    case = get_case(session_factory, again.case_no)
    assert case.linked_case_no == no
    assert "第三十六条" in case.events[0].note and no in case.events[0].note


def test_routing_table_is_seeded_and_editable(session_factory: sessionmaker) -> None:
    seeded = get_routing_table(session_factory)
    assert set(seeded.departments) == set(default_table().departments)
    assert seeded.rules == default_table().rules
    data = table_to_dict(default_table())
    data["departments"].append({"code": "bj_rsj", "name": "朝阳区人社局"})
    data["rules"].append({"region": "北京市朝阳区", "category": "labor_social_security", "department": "bj_rsj"})
    do_replace_routing_table(session_factory, data, actor="admin:boss", now=NOW)
    assert do_submit_petition(session_factory, sub(), now=NOW).department_code == "bj_rsj"
    with transaction(session_factory) as s:
        event = s.execute(select(RoutingEvent)).scalar_one()
    assert (event.actor, event.action) == ("admin:boss", "replace_table") and "bj_rsj" in event.note
    with pytest.raises(InvalidField):
        do_replace_routing_table(session_factory, {"departments": [], "rules": []}, actor="admin:boss")
    assert "bj_rsj" in get_routing_table(session_factory).codes  # a refused edit changed nothing
    with transaction(session_factory) as s:
        assert s.execute(select(func.count()).select_from(CaseEvent)).scalar_one() == 1

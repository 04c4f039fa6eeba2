"""Messages to the citizen per status: what happened, what comes next, by when."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from bot.cases.notifications import (
    ANSWER_EXCERPT,
    can_notify,
    rating_buttons,
    rating_payload,
    reply_notice,
    status_notice,
)
from bot.cases.queue import split_region
from bot.cases.status import CaseStatus

DUE = datetime(2027, 1, 22, 15, 59, 59, tzinfo=timezone.utc)  # 22 Jan 2027, end of day in Beijing
ANSWERED = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)


@dataclass
class FakeCase:
    status: str
    case_no: str = "XF20261123-0007"
    channel: str = "wechat"
    sender_id: str | None = "o-1"
    due_at: datetime | None = DUE
    extension_reason: str | None = None
    not_accepted_reason: str | None = None
    suggested_channel: str | None = None
    answer_text: str | None = None
    answered_at: datetime | None = None
    review_answer_text: str | None = None
    review_answered_at: datetime | None = None
    recheck_answer_text: str | None = None


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize("status", [s.value for s in CaseStatus if s is not CaseStatus.REGISTERED])
def test_every_status_after_registration_has_a_polite_message(status: str) -> None:
    case = FakeCase(status, not_accepted_reason="已进入仲裁程序", suggested_channel="existing_procedure",
                    answer_text="已责令补发工资。", answered_at=ANSWERED, review_answer_text="维持。",
                    review_answered_at=ANSWERED, recheck_answer_text="维持。")
    notice = status_notice(case, "any")
    assert notice is not None
    assert case.case_no in notice.text and _chinese(notice.text)
    assert "您" in notice.text


@pytest.mark.parametrize("status", ["accepted", "transferred", "in_progress", "review_requested", "recheck_requested"])
def test_messages_while_handling_say_by_when(status: str) -> None:
    assert "2027年1月22日前" in status_notice(FakeCase(status), "x").text


def test_accepted_cites_article_34() -> None:
    assert "第三十四条" in status_notice(FakeCase("accepted"), "accept").text


def test_transfer_names_the_department() -> None:
    text = status_notice(FakeCase("transferred"), "transfer", department_name="人力资源和社会保障局").text
    assert "人力资源和社会保障局" in text and "是否受理" in text


def test_not_accepted_gives_reason_and_the_legal_channel() -> None:
    case = FakeCase("not_accepted", not_accepted_reason="属于劳动争议", suggested_channel="labor_arbitration")
    text = status_notice(case, "not_accept").text
    assert "属于劳动争议" in text and "申请劳动仲裁" in text


def test_answer_quotes_the_answer_and_the_review_deadline() -> None:
    case = FakeCase("answered", answer_text="经核查，公司已补发工资。", answered_at=ANSWERED, due_at=None)
    text = status_notice(case, "answer").text
    assert "经核查，公司已补发工资。" in text
    assert "2026年12月31日前请求复查" in text and "第三十五条" in text


def test_long_answers_are_cut_with_a_pointer_to_the_written_answer() -> None:
    case = FakeCase("answered", answer_text="长" * (ANSWER_EXCERPT + 50), answered_at=ANSWERED)
    text = status_notice(case, "answer").text
    assert "长" * ANSWER_EXCERPT in text and "长" * (ANSWER_EXCERPT + 1) not in text
    assert "书面" in text


def test_review_answer_offers_recheck_and_recheck_is_final() -> None:
    text = status_notice(FakeCase("review_answered", review_answer_text="维持", review_answered_at=ANSWERED), "x").text
    assert "复核" in text and "2026年12月31日前" in text
    final = status_notice(FakeCase("recheck_answered", recheck_answer_text="维持"), "x").text
    assert "不再受理" in final and "第三十六条" in final


def test_extension_notice() -> None:
    text = status_notice(FakeCase("in_progress", extension_reason="需要现场勘查"), "extend").text
    assert "延长30日" in text and "需要现场勘查" in text and "2027年1月22日前" in text


def test_closed_asks_for_a_rating_with_five_buttons() -> None:
    notice = status_notice(FakeCase("closed", due_at=None), "close")
    assert "打个分" in notice.text
    assert [b["title"][0] for b in notice.buttons] == ["1", "2", "3", "4", "5"]
    for n, button in enumerate(notice.buttons, start=1):
        assert button["payload"] == f'/rate_case{{"case_no":"XF20261123-0007","rating":{n}}}'
        body = json.loads(button["payload"][len("/rate_case"):])
        assert body == {"case_no": "XF20261123-0007", "rating": n}
    assert rating_buttons("X") == [{"title": b["title"], "payload": rating_payload("X", i)}
                                   for i, b in enumerate(rating_buttons("X"), start=1)]


def test_registered_and_queue_actions_send_nothing() -> None:
    assert status_notice(FakeCase("registered"), "claim") is None


def test_only_chat_cases_are_notified() -> None:
    assert can_notify(FakeCase("accepted"))
    assert can_notify(FakeCase("accepted", channel="telegram")) and can_notify(FakeCase("accepted", channel="rest"))
    assert not can_notify(FakeCase("accepted", channel="letter"))
    assert not can_notify(FakeCase("accepted", sender_id=None))


def test_reply_notice() -> None:
    notice = reply_notice("XF20261123-0007", "  请补充工资条。 ")
    assert notice.kind == "reply" and notice.text.endswith("请补充工资条。") and "XF20261123-0007" in notice.text


@pytest.mark.parametrize(("region", "expected"), [
    ("广东省广州市天河区", ("广东省", "广东省广州市")),
    ("北京市朝阳区", ("北京市", "北京市")),
    ("广西壮族自治区南宁市青秀区", ("广西壮族自治区", "广西壮族自治区南宁市")),
    ("湖北省恩施土家族苗族自治州恩施市", ("湖北省", "湖北省恩施土家族苗族自治州")),
    ("浙江省", ("浙江省", "")),
    ("", ("", "")),
    (None, ("", "")),
    ("村东头", ("", "")),
])
def test_split_region(region: str | None, expected: tuple[str, str]) -> None:
    assert split_region(region) == expected

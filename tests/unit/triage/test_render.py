"""The chat message."""
from __future__ import annotations

from datetime import date

import pytest

from bot.triage import CHANNEL_LABELS, CHANNELS, render_chat, triage
from bot.triage.render import format_citations

TODAY = date(2026, 11, 23)


def test_every_channel_has_a_label() -> None:
    assert set(CHANNEL_LABELS) == set(CHANNELS)


def test_citations_grouped_by_law() -> None:
    text = format_citations([
        {"law": "劳动争议调解仲裁法", "article": "第五条"},
        {"law": "劳动争议调解仲裁法", "article": "第二十七条"},
        {"law": "劳动保障监察条例", "article": "第九条"},
    ])
    assert text == "《劳动争议调解仲裁法》第五条、第二十七条；《劳动保障监察条例》第九条"
    assert format_citations([{"law": "仲裁法（2025年修订）", "article": "第四条"}]) == "《仲裁法》（2025年修订）第四条"


def test_labour_message() -> None:
    msg = render_chat(triage("上个月公司把我辞退了，没给经济补偿", None, TODAY))
    assert msg.startswith("建议您：申请劳动仲裁。")
    assert "依据：《劳动争议调解仲裁法》第五条、第二十七条" in msg
    assert "1年" in msg and "2027-10-01" in msg
    assert "仲裁委员会" in msg
    assert "法律意见" in msg.splitlines()[-1]
    assert " " not in msg  # folded YAML must not leave spaces inside Chinese prose


def test_expired_message_mentions_legal_aid() -> None:
    msg = render_chat(triage("2025年3月公司把我辞退了，一直没给补偿", None, TODAY))
    assert "可能已经过了" in msg and "12348" in msg


def test_alternatives_and_question_are_shown() -> None:
    msg = render_chat(triage("交警罚了我200块钱", None, TODAY))
    assert "也可以考虑：提起行政诉讼。" in msg
    assert "请再告诉我" in msg


def test_judicial_interpretation_title_uses_inner_angle_brackets() -> None:
    msg = render_chat(triage("我对信访答复意见不满意，2026年11月20日收到的", None, TODAY))
    assert "《最高人民法院关于适用〈中华人民共和国行政诉讼法〉的解释》第一条" in msg


def test_a_rule_s_own_headline_replaces_the_channel_name() -> None:
    result = triage("2026年9月3日在车间干活被机器压伤了手，单位到现在也没给申报工伤。", None, date(2026, 11, 24))
    assert result.headline == "向人社部门申请工伤认定"
    text = render_chat(result, with_question=False)
    assert text.startswith("建议您：向人社部门申请工伤认定。") and "也可以考虑：申请劳动仲裁。" in text
    assert "headline" not in result.to_dict()  # the API keeps its contract


@pytest.mark.parametrize(("story", "headline"), [
    ("法院判了对方赔我五万，他到现在一分钱也没给。", "向法院申请强制执行"),
    ("报了案派出所说不予立案。", "向公安机关申请复议，或请检察院监督立案"),
])
def test_enforcement_and_refused_filing_say_what_to_do(story: str, headline: str) -> None:
    text = render_chat(triage(story, None, date(2026, 11, 24)), with_question=False)
    assert text.startswith(f"建议您：{headline}。")
    assert "再审" not in text.splitlines()[0] and "报警" not in text.splitlines()[0]

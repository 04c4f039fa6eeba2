"""Property-based fuzzing of everything that reads citizen input (hypothesis).

Contract: parsers, validators, the triage engine and the channel readers either return a
result or raise a :class:`bot.errors.PetitionError` (the channel protocol readers their own
request error) — never anything else; the PII helpers never leak what they hide.
Bounded example counts keep the whole file within a minute or two.
"""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels.wechat_protocol import WeChatRequestError, parse_wechat_message, parse_xml
from bot.errors import PetitionError
from bot.intake.corrections import parse_summary_edit, referenced_field
from bot.intake.counts import find_people_count, parse_count, validate_people_count
from bot.intake.dates import parse_date, validate_occurred_on
from bot.intake.idcard import find_id_number, normalize_id_number
from bot.intake.masking import mask_pii_in_text
from bot.intake.names import find_name, validate_name
from bot.intake.normalize import normalize_text
from bot.intake.parse import parse_free_text
from bot.intake.petition_type import match_petition_type, suggest_petition_type
from bot.intake.phone import find_phone, normalize_phone
from bot.security.crypto import KeyRing
from bot.security.inbound import MAX_MESSAGE_CHARS, clean_message
from bot.security.logmask import mask_log_text
from bot.triage.dialogue import looks_like_channel_question
from bot.triage.engine import triage

TODAY = date(2026, 11, 23)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Chinese petition vocabulary mixed with digits, punctuation, emoji, control and hostile text.
WORDS = st.sampled_from([
    "我叫", "张三", "身份证", "11010519491231002X", "电话", "13812345678", "010-12345678", "浙江省", "杭州市",
    "西湖区", "拖欠工资", "征地补偿", "2024年3月", "去年", "三十多人", "举报", "村支书", "公司", "法院", "判决",
    "仲裁", "复议", "要求", "赔偿", "，", "。", "？", "\n", "\x00", "\u202e", "🙂", "'; DROP TABLE cases;--",
    "<script>alert(1)</script>", "%s%d", "{}", "１３８", "Ⅻ", "零", "百", "万", "亿", "-", "+86", "X",
])
CHINESE_TEXT = st.lists(WORDS, max_size=25).map("".join)
ANY_TEXT = st.one_of(st.text(max_size=300), CHINESE_TEXT)


def only_petition_errors(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except PetitionError:
        return None


@FAST
@given(ANY_TEXT)
def test_field_parsers_and_validators(text: str) -> None:
    for fn in (normalize_phone, normalize_id_number, validate_name, validate_people_count):
        only_petition_errors(fn, text)
    only_petition_errors(validate_occurred_on, text, TODAY)
    for fn in (find_phone, find_id_number, find_name, find_people_count, parse_count, match_petition_type,
               suggest_petition_type, referenced_field, parse_summary_edit, normalize_text,
               looks_like_channel_question):
        only_petition_errors(fn, text)
    only_petition_errors(parse_date, text, TODAY)


@SLOW
@given(ANY_TEXT)
def test_parse_free_text_returns_contract_fields_only(text: str) -> None:
    result = only_petition_errors(parse_free_text, text, TODAY)
    if result is not None:
        assert set(result) <= {
            "category", "petition_type", "petitioner_name", "phone", "id_number", "issue_region",
            "respondent", "occurred_on", "people_count", "demand", "address", "facts", "prior_procedure",
        }


ANSWER_KEYS = st.sampled_from([
    "prior_procedure", "employment", "employment_end", "known_date", "admin_act", "review_mandatory",
    "land_contract", "commercial_contract", "crime", "official_misconduct", "petition_replied", "unknown_key",
])
ANSWER_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
                          st.sampled_from(["不清楚", "是", "否", "yes", "no", "2025-01-01", "litigation", "none"]),
                          st.lists(st.integers(), max_size=3))


@SLOW
@given(ANY_TEXT, st.dictionaries(ANSWER_KEYS, ANSWER_VALUES, max_size=4))
def test_triage_engine(text: str, answers: dict[str, Any]) -> None:
    result = only_petition_errors(triage, text, answers, TODAY)
    if result is not None:
        assert result.legal_channel


XML_TEXT = st.one_of(
    st.text(max_size=300),
    st.builds(
        lambda msg_type, who, content, extra: (
            f"<xml><ToUserName>gh_1</ToUserName><FromUserName>{who}</FromUserName><CreateTime>1</CreateTime>"
            f"<MsgType>{msg_type}</MsgType><Content>{content}</Content>{extra}</xml>"
        ),
        st.sampled_from(["text", "event", "image", "voice", "location", "", "<x>"]),
        st.text(max_size=10), st.text(max_size=40),
        st.sampled_from(["", "<MsgId>1</MsgId>", "<!DOCTYPE x>", "<Event>subscribe</Event>", "<![CDATA[", "&amp;"]),
    ),
)


@FAST
@given(XML_TEXT)
def test_wechat_xml_reader_only_refuses_with_request_errors(xml: str) -> None:
    for fn in (parse_xml, parse_wechat_message):
        try:
            fn(xml)
        except WeChatRequestError as exc:
            assert exc.status in (400, 403, 413)


@FAST
@given(st.one_of(st.text(max_size=MAX_MESSAGE_CHARS + 200), st.binary(max_size=600)))
def test_clean_message_never_raises_and_respects_the_limit(raw: Any) -> None:
    result = clean_message(raw)
    assert len(result.text) <= MAX_MESSAGE_CHARS
    assert "\x00" not in result.text
    assert result.junk == (result.text == "" and result.notice is not None)


DIGITS = st.text(alphabet="0123456789", min_size=11, max_size=11).map(lambda d: "1" + "3" + d[2:])


@FAST
@given(st.text(max_size=40), DIGITS, st.text(max_size=40))
def test_masks_never_leak_a_mobile_number(before: str, mobile: str, after: str) -> None:
    text = f"{before} {mobile} {after}"
    assert mobile not in mask_log_text(text)
    assert mobile not in mask_pii_in_text(text)


RING = KeyRing.parse("fz:" + "A" * 43 + "=")


@FAST
@given(st.text(max_size=200))
def test_encryption_round_trips_anything(value: str) -> None:
    assert RING.decrypt(RING.encrypt(value)) == value


@FAST
@given(st.text(max_size=120))
def test_decrypt_refuses_garbage_with_a_petition_error(token: str) -> None:
    with pytest.raises(PetitionError):  # forging a GCM tag is out of reach of a fuzzer
        RING.decrypt("pii1:fz:" + token)

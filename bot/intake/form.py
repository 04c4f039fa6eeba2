"""One user turn of ``petition_form``: pure logic, no Rasa.

The Rasa validation action (``actions/petition_form.py``) reads the tracker into a
:class:`FormState` and a :class:`UserTurn`, calls :func:`process_turn`, and turns the
:class:`TurnResult` into events. Everything a citizen can do inside the form is
decided here: answer the asked question, give several fields at once, correct
any field in natural words or by summary number, cancel, refuse consent, or ask
something else (an interruption the dialogue policies answer before resuming).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from bot.errors import InvalidField
from bot.intake import corrections, counts, dates, idcard, names, phone, region
from bot.intake.category import match_category, suggest_category
from bot.intake.fields import CATEGORY_LABELS, FIELD_LABELS, PRIOR_PROCEDURE_LABELS
from bot.intake.normalize import normalize_text
from bot.intake.parse import parse_free_text
from bot.intake.petition_type import match_petition_type, suggest_petition_type
from bot.intake.routing import route_petition
from bot.intake.summary import SUMMARY_FIELDS, display_value, render_summary
from bot.triage import triage
from bot.triage.dialogue import looks_like_channel_question
from bot.triage.render import render_chat

# The order in which the form asks (the domain's required_slots list matches it):
# consent first, then the fields in summary order, the legal-channel choice, confirmation.
FORM_ORDER: tuple[str, ...] = ("consent", *SUMMARY_FIELDS, "channel_choice", "confirm")
CANCEL_CONFIRM = "cancel_confirm"
ROUTING_INPUTS = frozenset({"facts", "demand", "respondent", "prior_procedure", "occurred_on", "petition_type"})
MAX_FAILURES_BEFORE_HUMAN = 3

# Intents answered by dialogue rules while the form waits (the form then resumes).
INTERRUPTION_INTENTS = frozenset(
    {"faq", "bot_challenge", "help", "ask_legal_channel", "request_human", "check_status", "out_of_scope"}
)
# Free-text answers: a message is an interruption only when NLU is sure and it reads as a question.
FREE_TEXT_SLOTS = frozenset({"petitioner_name", "address", "respondent", "facts", "demand", "issue_region"})
CORRECTION_MARKERS = re.compile(r"(写错|填错|输错|说错|不对|有误|错了|改成|改为|更正|更改|修改|应该是|应为|重新填)")
QUESTION_MARKERS = re.compile(r"[?？]|吗$|呢$|怎么|如何|多久|多长|几天|哪里|什么|能不能|可不可以")
SHORT_REPLY_CHARS = 12
#: a message this long, without personal details, told before the facts are asked, is the facts
NARRATIVE_CHARS = 20
#: questions asked before the facts, at which a citizen may well start telling the story
EARLY_SLOTS = frozenset({"consent", "petition_type"})
#: a message that asks something (a question mark, or 吗 / 呢 at the end) is no story
ASKS = re.compile(r"[?？]|[吗呢][。！!…]*$")
SAME_AS_ADDRESS = re.compile(r"(与|和|跟)?(我的)?(住址|地址|家庭住址)(相同|一样)|同上|就是我家|在我家")
NO_RESPONDENT = re.compile(r"^(没有|无|没|没有具体对象|不涉及|不清楚)[。！!]?$")
PRIOR_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("effective_judgment", r"(判决|裁定|调解书).{0,4}(生效|已经生效|终审)|终审判决|生效判决"),
    ("petition_reply", r"(信访|处理意见|答复意见|信访答复)"),
    ("administrative_review", r"复议"),
    ("arbitration", r"仲裁"),
    ("litigation", r"(起诉|诉讼|打官司|法院|立案|开庭)"),
    ("none", r"^(没有|没|无|都没有|没走过|还没有|否|不)|从来没|没有走过|什么都没"),
)


@dataclass(frozen=True)
class UserTurn:
    text: str
    intent: str = "inform"
    confidence: float = 1.0
    entities: tuple[dict[str, Any], ...] = ()


@dataclass
class FormState:
    values: dict[str, Any]
    requested_slot: str | None
    failures: dict[str, int] = field(default_factory=dict)
    suggested_category: str | None = None
    consent_refusals: int = 0
    activating: bool = False
    human_requested: bool = False  # staff were asked for: the form no longer offers "转人工"

    def get(self, slot: str) -> Any:
        return self.values.get(slot)


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()


@dataclass
class TurnResult:
    updates: dict[str, Any] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)
    next_slot: str | None = None
    outcome: str | None = None  # "cancelled" | "consent_refused" | "confirmed" | "redirected"
    reject: bool = False  # nothing for the form: let the dialogue policies answer
    failures: dict[str, int] = field(default_factory=dict)
    suggested_category: str | None = None
    consent_refusals: int = 0

    def say(self, text: str, *buttons: Button) -> None:
        self.replies.append(Reply(text, tuple(buttons)))


HUMAN_BUTTON = Button("转人工", "/request_human")
#: the ID number may be left out (信访工作条例 Art 19 asks for name, address and the request);
#: offered after repeated failures, staff verify identity when they accept the case
NO_ID = re.compile(r"^(暂不提供|不提供|先不提供|不想提供|不方便提供|没有身份证|没带身份证|跳过)[。！!]?$")
NO_ID_BUTTON = Button("暂不提供", "暂不提供")
NO_ID_NOTE = "好的，身份证号码先不填。工作人员受理时可能会再与您核实身份。"


def _entity(turn: UserTurn, name: str) -> Any:
    for ent in turn.entities:
        if ent.get("entity") == name and ent.get("value") not in (None, ""):
            return ent["value"]
    return None


# ---------------------------------------------------------------- answer parsers
# Each takes the text of an answer to that slot's question and returns the value
# to store, or raises InvalidField with a Chinese explanation and an example.

def _parse_consent(text: str, turn: UserTurn) -> bool:
    if turn.intent == "affirm" or re.search(r"^(同意|可以|好|行|是|嗯|没问题|愿意)", text):
        return True
    if turn.intent == "deny" or re.search(r"^(不同意|不|否|拒绝|不行)", text):
        return False
    raise InvalidField("consent", user_message="请回复“同意”或“不同意”。")


def _parse_yes_no(field_name: str, text: str, turn: UserTurn) -> bool:
    if re.search(r"^(不提交|先走|先不)", text):
        return False
    if turn.intent == "affirm" or re.search(r"^(是|对|好|确认|没问题|可以|提交|确定|嗯|仍然|继续|还是提交|要提交)", text):
        return True
    if turn.intent == "deny" or re.search(r"^(不|否|没|修改|我要修改|取消)", text):
        return False
    raise InvalidField(field_name, user_message="请回复“是”或“不是”。")


def _parses_as(slot: str, text: str, turn: UserTurn, today: date) -> bool:
    answer_turn = UserTurn(text=text, intent="inform", confidence=turn.confidence, entities=turn.entities)
    try:
        if slot == "consent":
            _parse_consent(text, answer_turn)
        elif slot in ("confirm", "channel_choice"):
            _parse_yes_no(slot, text, answer_turn)
        else:
            _parser_for(slot, today)(text, answer_turn)
    except InvalidField:
        return False
    return True


def _parse_petition_type(text: str, turn: UserTurn) -> str:
    value = _entity(turn, "petition_type") or match_petition_type(text)
    if value:
        return str(value)
    raise InvalidField(
        "petition_type",
        user_message="请选择一种类型：1 提出建议意见，2 检举控告，3 反映问题、要求解决。回复数字即可。",
    )


def _parse_name(text: str, turn: UserTurn) -> str:
    return names.find_name(text) or names.validate_name(text)


def _parse_id(text: str, turn: UserTurn) -> str:
    return idcard.normalize_id_number(idcard.find_id_number(text) or text)


def _parse_phone(text: str, turn: UserTurn) -> str:
    return phone.find_phone(text) or phone.normalize_phone(phone.find_phone_candidate(text) or text)


def _parse_address(text: str, turn: UserTurn) -> str:
    cleaned = re.sub(r"^(我)?(住在|家住|住址是|地址是|住址：|地址：|在)", "", text).strip(" ，。")
    if len(cleaned) < 2 or not re.search(r"[\u4e00-\u9fff]", cleaned):
        raise InvalidField("address", user_message="请写一下您的住址，到区县和街道即可，例如：浙江省杭州市西湖区文三路。")
    return region.normalize_address(cleaned)


def _parse_free_text(slot: str, minimum: int, example: str) -> Callable[[str, UserTurn], str]:
    def parse(text: str, turn: UserTurn) -> str:
        if len(text.strip()) < minimum:
            raise InvalidField(slot, user_message=f"请再具体说一说，例如：{example}")
        return text.strip()

    return parse


def _parse_respondent(text: str, turn: UserTurn) -> str:
    if NO_RESPONDENT.match(text.strip()):
        return "无具体对象"
    return _parse_free_text("respondent", 2, "某某区住建局、某某公司、某村村委会。")(text, turn)


def _parse_date_answer(today: date) -> Callable[[str, UserTurn], str]:
    def parse(text: str, turn: UserTurn) -> str:
        return dates.validate_occurred_on(text, today)

    return parse


def _parse_people_count(text: str, turn: UserTurn) -> int:
    return counts.validate_people_count(text)


def _parse_prior(text: str, turn: UserTurn) -> str:
    value = _entity(turn, "prior_procedure")
    if value in PRIOR_PROCEDURE_LABELS:
        return str(value)
    for label_code, label in PRIOR_PROCEDURE_LABELS.items():
        if text.strip() == label:
            return label_code
    if turn.intent == "deny":
        return "none"
    for label_code, pattern in PRIOR_KEYWORDS:
        if re.search(pattern, text):
            return label_code
    raise InvalidField(
        "prior_procedure",
        user_message="请告诉我这件事之前是否起诉、申请过复议或仲裁、有生效判决，或收到过信访答复；都没有的话回复“没有”。",
    )


# ------------------------------------------------------------------- the turn

def process_turn(state: FormState, turn: UserTurn, today: date) -> TurnResult:
    """Decide what one user message means for the petition form."""
    text = normalize_text(turn.text)
    result = TurnResult(
        failures=dict(state.failures),
        suggested_category=state.suggested_category,
        consent_refusals=state.consent_refusals,
    )
    asked = state.requested_slot

    if state.activating:
        _activate(state, text, turn, today, result)
        return _finish(state, result, today)

    if asked == CANCEL_CONFIRM:
        if turn.intent == "affirm" or re.search(r"^(确定|是|对|取消)", text):
            result.outcome = "cancelled"
            return result
        result.updates[CANCEL_CONFIRM] = None
        result.say("好的，我们接着填写。")
        return _finish(state, result, today)

    if turn.intent == "cancel" and turn.confidence >= 0.5 and asked not in ("facts", "demand"):
        result.updates[CANCEL_CONFIRM] = True
        result.next_slot = CANCEL_CONFIRM
        return result

    if _is_interruption(asked, text, turn, today):
        result.reject = True
        return result

    if asked == "confirm" and _summary_edit(state, text, today, result):
        return _finish(state, result, today)

    mentioned, corrected = _apply_mentions(state, text, turn, today, result)
    wants_correction = turn.intent == "correct_info" or _mentions_correction(text)
    if wants_correction and not corrected:
        target = corrections.referenced_field(text)
        if target and target in FORM_ORDER and target not in ("consent", "confirm"):
            result.updates[target] = None
            result.updates["confirm"] = None
            result.next_slot = target
            result.say(f"好的，我们重新填写“{FIELD_LABELS.get(target, target)}”。")
            return result

    if asked and asked not in result.updates:
        # a story told before the questions reach the facts is kept, whatever else it answers
        story = asked in EARLY_SLOTS and _keep_story(state, text, today, result)
        found_for_asked = _fields_from_text(text, today).get(asked)
        if found_for_asked is not None and asked != "facts":
            result.updates[asked] = found_for_asked
            result.failures.pop(asked, None)
        elif corrected or (mentioned and asked in FREE_TEXT_SLOTS):
            pass  # the message was about other fields: ask the same question again
        elif story and not _parses_as(asked, text, turn, today):
            pass  # kept as the facts; the question is asked again, without an error
        elif mentioned and (label := _only_numbers_of_other_fields(asked, text, result.updates)):
            result.say(f"已记下您的{label}。")  # a number for another question: kept, then ask again
        else:
            _answer_requested(state, asked, text, turn, today, result)

    return _finish(state, result, today)


def _activate(state: FormState, text: str, turn: UserTurn, today: date, result: TurnResult) -> None:
    result.say(
        "好的，我来帮您登记信访事项，大约需要5分钟。过程中您随时可以修改任何一项，"
        "说“取消”可以放弃登记。"
    )
    if looks_like_channel_question(text):
        # "I want to report X — where do I go?": answer the question first, then register
        advice = triage(text, {}, today)
        result.say(
            render_chat(advice, with_question=False)
            + "\n\n如果您希望在这里登记，我们会按规定转交有权处理的机关。不需要的话回复“取消”。"
        )
    if turn.intent == "start_petition" or len(text) >= 8:
        found = _fields_from_text(text, today)
        if _is_narrative(state, text, found):
            found["facts"] = text  # a narrative opening (no personal details in it) is the facts
        ptype = suggest_petition_type(text)
        if ptype and "petition_type" not in found:
            found["petition_type"] = ptype
        found = {k: v for k, v in found.items() if state.get(k) in (None, "")}
        if found:
            result.updates.update(found)
            shown = "、".join(FIELD_LABELS.get(k, k) for k in found if k in SUMMARY_FIELDS and k != "petition_type")
            if shown:
                result.say(f"我已从您的话里记下了：{shown}，稍后会请您一起核对。")


def _is_narrative(state: FormState, text: str, found: dict[str, Any]) -> bool:
    """A story of some length, not a question, with no personal details in it, while the facts are empty."""
    return (
        len(text) >= NARRATIVE_CHARS and not ASKS.search(text)
        and not state.get("facts") and not found.keys() & IDENTITY_FIELDS
    )


def _keep_story(state: FormState, text: str, today: date, result: TurnResult) -> bool:
    """A story told before the form reaches the facts (at the consent or type question): kept."""
    if result.updates.get("facts") or not _is_narrative(state, text, _fields_from_text(text, today)):
        return False
    result.updates["facts"] = text
    if not state.get("petition_type"):
        ptype = suggest_petition_type(text)
        if ptype:
            result.updates["petition_type"] = ptype
    result.say("您说的情况我已经记下了，稍后会请您一起核对。")
    return True


#: what is left of a message once its phone and ID numbers are taken out (labels, punctuation)
_NUMBER_LABELS = re.compile(
    r"[\d\sXx\-—+()（）:：,，.。;；!！]|我的|我|是|电话|手机号?|号码|联系方式|身份证号?|证件号?|码"
)
_SELF_EVIDENT = ("phone", "id_number")


def _only_numbers_of_other_fields(asked: str, text: str, filled: dict[str, Any]) -> str | None:
    """The label of the field a message held nothing but (a phone or ID number given to another question)."""
    given = [slot for slot in _SELF_EVIDENT if slot in filled and slot != asked]
    if not given or _NUMBER_LABELS.sub("", text):
        return None
    return "和".join(FIELD_LABELS.get(slot, slot) for slot in given)


def _fields_from_text(text: str, today: date) -> dict[str, Any]:
    return dict(_form_fields(text, today))


@lru_cache(maxsize=16)
def _form_fields(text: str, today: date) -> tuple[tuple[str, Any], ...]:
    # One parse per message, however many steps of the turn ask (they run back to back inside
    # process_turn, so a small cache suffices and little personal data lingers in memory).
    # The values are str / int / date: immutable.
    found = parse_free_text(text, today, with_category=False)  # suggested and confirmed, never assumed
    return tuple((k, v) for k, v in found.items() if k in FORM_ORDER and v not in (None, ""))


#: fields that make a message a set of personal details rather than a narrative
IDENTITY_FIELDS = frozenset({"petitioner_name", "id_number", "phone", "address"})
CLOSED_ANSWER_SLOTS = frozenset({"consent", "confirm", "channel_choice", "petition_type", "prior_procedure", "people_count"})


def _is_interruption(asked: str | None, text: str, turn: UserTurn, today: date) -> bool:
    if turn.intent not in INTERRUPTION_INTENTS:
        return False
    if asked in CLOSED_ANSWER_SLOTS and text and not QUESTION_MARKERS.search(text) and _parses_as(asked, text, turn, today):
        return False  # "仍然提交" answers the question even if NLU hears a policy topic
    if (asked == "issue_region" and SAME_AS_ADDRESS.search(text)) or (
        asked == "respondent" and NO_RESPONDENT.match(text.strip())
    ) or (asked == "id_number" and NO_ID.match(text.strip())):
        return False  # the question's own button
    if asked in FREE_TEXT_SLOTS:
        # a statement of some length answers the question, whatever NLU thinks of it
        return turn.confidence >= 0.7 and (len(text) <= SHORT_REPLY_CHARS or bool(QUESTION_MARKERS.search(text)))
    return turn.confidence >= 0.5


def _mentions_correction(text: str) -> bool:
    return bool(CORRECTION_MARKERS.search(text))


def _apply_mentions(
    state: FormState, text: str, turn: UserTurn, today: date, result: TurnResult
) -> tuple[bool, bool]:
    """Fill other fields found in the message; correct filled ones when the citizen says so.

    Returns (some other field was filled or corrected, a filled field was changed).
    """
    asked = state.requested_slot
    correcting = turn.intent == "correct_info" or _mentions_correction(text)
    if asked in ("facts", "demand") and not correcting:
        return False, False  # a narrative answer: numbers inside it are not corrections
    found = _fields_from_text(text, today)
    mentioned = changed = False
    for slot, value in found.items():
        if slot == asked:
            continue
        current = state.get(slot)
        if current in (None, ""):
            result.updates[slot] = value
            mentioned = True
        elif correcting and current != value:
            result.updates[slot] = value
            result.say(f"已将{FIELD_LABELS.get(slot, slot)}更正为：{display_value(slot, value)}。")
            changed = True
    # an ID number that fails its check (given with other fields, or as a correction) is
    # explained, not silently dropped; the form then asks for it again
    explained = _explain_invalid_mentions(text, result, asked)
    if correcting:
        changed |= explained
    if changed:
        result.updates["confirm"] = None
    return mentioned or changed, changed


def _explain_invalid_mentions(text: str, result: TurnResult, asked: str | None) -> bool:
    candidate = idcard.find_id_number(text)
    if candidate and not idcard.is_valid_id_number(candidate) and asked != "id_number":
        try:
            idcard.normalize_id_number(candidate)
        except InvalidField as exc:
            result.say(exc.user_message)
            return True
    return False


def _summary_edit(state: FormState, text: str, today: date, result: TurnResult) -> bool:
    edit = corrections.parse_summary_edit(text)
    if not edit:
        return False
    number, rest = edit
    if not 1 <= number <= len(SUMMARY_FIELDS):
        result.say(f"序号要在1到{len(SUMMARY_FIELDS)}之间，请再看一下上面的清单。")
        result.next_slot = "confirm"
        return True
    slot = SUMMARY_FIELDS[number - 1]
    result.updates["confirm"] = None
    if rest:
        parser = _parser_for(slot, today)
        try:
            value = parser(rest, UserTurn(rest))
        except InvalidField as exc:
            result.say(exc.user_message)
        else:
            result.updates[slot] = value
            result.say(f"已将{FIELD_LABELS.get(slot, slot)}改为：{display_value(slot, value)}。")
            return True
    result.updates[slot] = None
    result.next_slot = slot
    return True


def _parser_for(slot: str, today: date) -> Callable[[str, UserTurn], Any]:
    parsers: dict[str, Callable[[str, UserTurn], Any]] = {
        "petition_type": _parse_petition_type,
        "petitioner_name": _parse_name,
        "id_number": _parse_id,
        "phone": _parse_phone,
        "address": _parse_address,
        "issue_region": _parse_region_answer,
        "respondent": _parse_respondent,
        "occurred_on": _parse_date_answer(today),
        "facts": _parse_free_text("facts", 10, "去年三月起公司一直拖欠我三个月工资，找老板多次没有结果。"),
        "demand": _parse_free_text("demand", 2, "要求补发拖欠的工资。"),
        "people_count": _parse_people_count,
        "prior_procedure": _parse_prior,
        "category": _parse_category_text,
    }
    return parsers[slot]


def _parse_region_answer(text: str, turn: UserTurn) -> str:
    found = region.parse_region(text)
    if found is not None:
        detail = region.normalize_address(text)
        return detail if len(detail) > len(found.text) else found.text
    if len(text.strip()) >= 2:
        return text.strip()
    raise InvalidField("issue_region", user_message="请说一下事发地点，到省、市、区县即可，例如：湖南省长沙市岳麓区。")


def _parse_category_text(text: str, turn: UserTurn) -> str:
    value = _entity(turn, "category") or match_category(text)
    if value in CATEGORY_LABELS:
        return str(value)
    raise InvalidField("category", user_message="请从按钮里选择一个类别，或直接说出类别名称，例如“劳动和社会保障”。")


def _answer_requested(
    state: FormState, asked: str, text: str, turn: UserTurn, today: date, result: TurnResult
) -> None:
    try:
        if asked == "consent":
            value: Any = _parse_consent(text, turn)
            if value is False:
                _consent_refused(result)
                return
        elif asked == "confirm":
            value = _parse_yes_no("confirm", text, turn)
            if value is False:
                result.say("请告诉我要修改第几项，例如“改3”；也可以直接说“电话应该是……”。")
                result.next_slot = "confirm"
                return
            result.outcome = "confirmed"
        elif asked == "channel_choice":
            if _parse_yes_no("channel_choice", text, turn):
                value = "petition"
            else:
                result.outcome = "redirected"
                return
        elif asked == "category":
            value = _answer_category(state, text, turn, result)
            if value is None:
                return
        elif asked == "id_number" and NO_ID.match(text.strip()):
            value = ""  # left out on purpose: not asked again, stored as empty
            result.say(NO_ID_NOTE)
        elif asked == "issue_region" and SAME_AS_ADDRESS.search(text) and state.get("address"):
            home = region.parse_region(str(state.get("address")))
            value = home.text if home else state.get("address")
        else:
            value = _parser_for(asked, today)(text, turn)
    except InvalidField as exc:
        _failed(asked, exc, result, human_requested=state.human_requested)
        return
    result.updates[asked] = value
    result.failures.pop(asked, None)
    if asked == "facts" and not state.get("category"):
        result.suggested_category = suggest_category(text)
        if not state.get("petition_type"):
            ptype = suggest_petition_type(text)
            if ptype:
                result.updates["petition_type"] = ptype


def _answer_category(state: FormState, text: str, turn: UserTurn, result: TurnResult) -> str | None:
    named = _entity(turn, "category") or match_category(text)
    if named in CATEGORY_LABELS:
        return str(named)
    if state.suggested_category and (turn.intent == "affirm" or re.search(r"^(是|对|没错|嗯|好)", text)):
        return state.suggested_category
    if turn.intent == "deny" or re.search(r"^(不|换|都不)", text):
        result.suggested_category = None
        result.next_slot = "category"
        return None
    raise InvalidField("category", user_message="请从按钮里选择一个类别，或直接说出类别名称，例如“劳动和社会保障”。")


def _consent_refused(result: TurnResult) -> None:
    result.consent_refusals += 1
    if result.consent_refusals >= 2:
        result.outcome = "consent_refused"
        return
    result.say(
        "理解您的顾虑。受理信访事项需要核实信访人身份并把处理结果告诉您，所以需要这些信息；"
        "它们只用于办理本件事项，不会用于其他用途。如果仍不同意，我们将不会保存任何内容。"
    )
    result.next_slot = "consent"


def _failed(slot: str, exc: InvalidField, result: TurnResult, *, human_requested: bool = False) -> None:
    count = result.failures.get(slot, 0) + 1
    result.failures[slot] = count
    result.next_slot = slot
    if count < MAX_FAILURES_BEFORE_HUMAN:
        result.say(exc.user_message)
    elif human_requested:  # staff were asked for already: say so instead of offering them again
        result.say(exc.user_message + "\n您的转人工请求工作人员已经收到，接入后会在这里回复您；在此之前也可以接着填写。")
    elif slot == "id_number":
        result.say(
            exc.user_message + "\n如果暂时不方便提供，可以回复“暂不提供”；也可以回复“转人工”，由工作人员协助您。",
            NO_ID_BUTTON, HUMAN_BUTTON,
        )
    else:
        result.say(exc.user_message + "\n如果不方便填写，可以回复“转人工”，由工作人员协助您。", HUMAN_BUTTON)


def _finish(state: FormState, result: TurnResult, today: date) -> TurnResult:
    """Choose the next question (first empty slot in order) unless one is already set."""
    if result.outcome or result.reject:
        return result
    if state.get("channel_choice") is not None and ROUTING_INPUTS & result.updates.keys():
        # the matter changed: ask again only when the advised legal channel changes
        advice = route_petition({**state.values, **result.updates}, today)
        if advice.slots["legal_channel"] != state.get("legal_channel"):
            result.updates["channel_choice"] = None
    values = {**state.values, **result.updates}
    if values.get("petition_type") == "suggestion" and values.get("occurred_on") in (None, ""):
        # a suggestion has no day it "happened": it is dated by the month it is made, not asked
        result.updates["occurred_on"] = values["occurred_on"] = today.strftime("%Y-%m")
    if result.next_slot is None:
        result.next_slot = next((s for s in FORM_ORDER if values.get(s) is None), None)
    if result.next_slot == "category":
        rejected = state.requested_slot == "category" and state.suggested_category and not result.suggested_category
        suggestion = None if rejected else result.suggested_category or suggest_category(
            " ".join(str(values.get(k) or "") for k in ("facts", "demand", "respondent"))
        )
        result.suggested_category = suggestion
        result.updates["category_prompt"] = (
            f"根据您的描述，这件事可能属于“{CATEGORY_LABELS[suggestion]}”类。对吗？"
            if suggestion
            else "请选择这件事所属的类别："
        )
        result.updates["has_category_suggestion"] = bool(suggestion)
    if result.next_slot == "channel_choice":
        _route(values, today, result)
        values = {**state.values, **result.updates}
    if result.next_slot == "confirm":
        result.updates["petition_summary"] = render_summary(values)
    return result


def _route(values: dict[str, Any], today: date, result: TurnResult) -> None:
    """诉访分离: before submitting, say when another legal channel fits the matter better."""
    advice = route_petition(values, today)
    result.updates.update(advice.slots)
    if advice.other_channel:
        result.updates["channel_prompt"] = advice.message
        result.next_slot = "channel_choice"
    else:
        result.updates["channel_choice"] = "petition"
        result.next_slot = "confirm" if values.get("confirm") is None else None

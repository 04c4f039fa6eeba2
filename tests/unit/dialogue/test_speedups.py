"""bot.dialogue.speedups.ActionResultValidator gives Rasa's verdict on action-server answers.

Rasa checks an answer with ``jsonschema.validate(result, action_response_format_spec())``; the
validator must accept and reject exactly the same answers (here against the same schema)."""
from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from rasa.shared.utils.schemas.events import EVENTS_SCHEMA

from bot.dialogue.speedups import ActionResultValidator

# What RemoteAction.action_response_format_spec() returns in Rasa 3.6.
SPEC = {
    "type": "object",
    "properties": {"events": EVENTS_SCHEMA, "responses": {"type": "array", "items": {"type": "object"}}},
}

VALID: list[Any] = [
    {},
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "phone", "value": "13912345678", "timestamp": None}],
     "responses": [{"text": "请提供您的电话", "buttons": [{"title": "是", "payload": "/affirm"}]}]},
    {"events": [{"event": "slot", "name": "consent", "value": None},
                {"event": "active_loop", "name": None},
                {"event": "followup", "name": "utter_greet"},
                {"event": "user", "text": "你好", "parse_data": {"intent": {"name": "greet", "confidence": 0.9},
                                                              "entities": []}},
                {"event": "bot", "text": "您好", "metadata": {"a": 1}},
                {"event": "action", "name": "action_listen", "policy": None, "confidence": None}]},
]

INVALID: list[Any] = [
    [],
    {"events": {}},
    {"events": [{"name": "x"}]},  # no event type
    {"events": [{"event": "nonsense"}]},  # unknown type
    {"events": [{"event": "slot", "name": "x"}]},  # slot without value
    {"events": [{"event": "slot", "name": 5, "value": 1}]},
    {"events": [{"event": "slot", "name": "x", "value": 1, "timestamp": "yesterday"}]},
    {"events": [{"event": "user", "text": 3}]},
    {"events": [{"event": "entities"}]},
    {"events": ["slot"]},
    {"responses": [1, 2]},
]


def rasa_accepts(result: Any) -> bool:
    try:
        jsonschema.validate(result, SPEC)
    except jsonschema.ValidationError:
        return False
    return True


def fast_accepts(validator: ActionResultValidator, result: Any) -> bool:
    try:
        validator.validate(result)
    except jsonschema.ValidationError:
        return False
    return True


@pytest.fixture(scope="module")
def validator() -> ActionResultValidator:
    return ActionResultValidator(SPEC)


@pytest.mark.parametrize("result", VALID + INVALID)
def test_same_verdict_as_rasa(validator: ActionResultValidator, result: Any) -> None:
    assert fast_accepts(validator, result) == rasa_accepts(result)


def test_the_cases_cover_both_verdicts(validator: ActionResultValidator) -> None:
    assert all(rasa_accepts(r) for r in VALID)
    assert not any(rasa_accepts(r) for r in INVALID)


def test_a_schema_of_another_shape_is_refused() -> None:
    odd = {"type": "object", "properties": {"events": {"type": "array", "items": {"oneOf": [{"type": "object"}]}}}}
    with pytest.raises(ValueError):
        ActionResultValidator(odd)

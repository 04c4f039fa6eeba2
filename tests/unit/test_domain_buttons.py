"""Every button of domain.yml's responses reaches the citizen as a payload Rasa can parse.

Rasa fills ``{slot}`` placeholders in responses, buttons included; a JSON payload such as
``/inform{"category":"other"}`` must therefore be written with doubled braces, or every time
the response is sent Rasa logs a templating error (and keeps the text as it is)."""
from __future__ import annotations

import copy
import json
import logging
import re
from pathlib import Path

import pytest
import yaml
from rasa.core.nlg.interpolator import interpolate

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text(encoding="utf-8"))
PAYLOAD = re.compile(r"^/(?P<intent>[a-z_]+)(?P<entities>\{.*\})?$")
BUTTONS = [
    (name, button)
    for name, variants in DOMAIN["responses"].items()
    for variant in variants
    for button in variant.get("buttons", [])
]


def test_the_domain_has_buttons() -> None:
    assert len(BUTTONS) >= 20


@pytest.mark.parametrize(("response", "button"), BUTTONS, ids=[f"{r}:{b['title']}" for r, b in BUTTONS])
def test_button_payload_survives_rasa_templating(response: str, button: dict[str, str],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        rendered = interpolate({"buttons": [copy.deepcopy(button)]}, {"petitioner_name": "张三"})
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    payload = rendered["buttons"][0]["payload"]
    # what Rasa's "format" templating does; a bare JSON brace raises KeyError (Rasa logs it)
    assert payload == button["payload"].format(), button["payload"]
    if not payload.startswith("/"):  # a plain answer, sent as if typed
        assert "{" not in payload and payload.strip(), payload
        return
    found = PAYLOAD.match(payload)
    assert found, payload
    assert found["intent"] in DOMAIN["intents"] or found["intent"].split("/")[0] in DOMAIN["intents"]
    if found["entities"]:
        values = json.loads(found["entities"])
        assert values and all(isinstance(v, str) for v in values.values()), payload

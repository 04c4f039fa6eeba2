"""The WeChat menu: every CLICK key means an intent of the domain; WeChat's size limits hold."""
from __future__ import annotations

import json

import yaml

from bot.channels.wechat_menu import (
    LEGACY_KEYS,
    MENU,
    MENU_INTENTS,
    UNKNOWN_MENU_INTENT,
    intent_for_key,
    menu_json,
    menu_keys,
)
from bot.settings import PROJECT_ROOT


def domain_intents() -> set[str]:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    names = set()
    for item in domain["intents"]:
        names.add(next(iter(item)) if isinstance(item, dict) else item)
    return names


def test_every_menu_key_maps_to_a_domain_intent() -> None:
    intents = domain_intents()
    assert set(menu_keys()) == set(MENU_INTENTS)
    for key, payload in MENU_INTENTS.items():
        assert payload.startswith("/") and payload[1:] in intents, key
    assert UNKNOWN_MENU_INTENT[1:] in intents
    assert all(target in MENU_INTENTS for target in LEGACY_KEYS.values())


def test_lookup_is_case_insensitive_and_knows_legacy_keys() -> None:
    assert intent_for_key("start_petition") == "/start_petition"
    assert intent_for_key(" STATUS ") == "/check_status"
    assert intent_for_key("REQUEST_HUMAN") == "/request_human"
    assert intent_for_key("NOPE") is None


def test_menu_respects_wechat_limits() -> None:
    assert 1 <= len(MENU) <= 3
    for button in MENU:
        assert len(button["name"].encode("utf-8")) <= 16
        subs = button.get("sub_button")
        if subs is not None:
            assert 1 <= len(subs) <= 5 and "type" not in button
            for sub in subs:
                assert len(sub["name"].encode("utf-8")) <= 60 and len(sub["key"]) <= 128
        else:
            assert button["type"] == "click" and len(button["key"]) <= 128


def test_menu_json_is_the_create_body() -> None:
    body = json.loads(menu_json())
    assert body == {"button": MENU}
    assert "我要反映" in menu_json()  # readable Chinese, not \\u escapes

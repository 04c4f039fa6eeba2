"""The WeChat official account's custom menu (自定义菜单) and what its CLICK keys mean.

``MENU`` is what is registered with WeChat (``POST {WECHAT_API_BASE}menu/create``); each
``click`` button sends an event with its ``key``, which the channel maps to a Rasa intent
payload through ``MENU_INTENTS``. Print the JSON to register with::

    python -m bot.channels.wechat_menu

WeChat's limits: at most 3 top-level buttons (names up to 4 Chinese characters, 16 bytes),
at most 5 sub-buttons each (up to 8 Chinese characters), keys up to 128 bytes.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: CLICK key -> Rasa payload (an intent of domain.yml)
MENU_INTENTS: Mapping[str, str] = {
    "START_PETITION": "/start_petition",
    "CHECK_STATUS": "/check_status",
    "LEGAL_CHANNEL": "/ask_legal_channel",
    "HELP": "/help",
    "REQUEST_HUMAN": "/request_human",
}
#: keys of an earlier menu, still understood (menus cached on phones change slowly)
LEGACY_KEYS: Mapping[str, str] = {
    "PETITION": "START_PETITION",
    "STATUS": "CHECK_STATUS",
    "LEGAL": "LEGAL_CHANNEL",
}
UNKNOWN_MENU_INTENT = "/help"

MENU: list[dict[str, Any]] = [
    {"type": "click", "name": "我要反映", "key": "START_PETITION"},
    {"type": "click", "name": "查询进度", "key": "CHECK_STATUS"},
    {
        "name": "咨询帮助",
        "sub_button": [
            {"type": "click", "name": "该走哪个途径", "key": "LEGAL_CHANNEL"},
            {"type": "click", "name": "使用帮助", "key": "HELP"},
            {"type": "click", "name": "联系工作人员", "key": "REQUEST_HUMAN"},
        ],
    },
]


def intent_for_key(key: str) -> str | None:
    """The Rasa payload of a menu key (case-insensitive, legacy keys too); None when unknown."""
    normalized = key.strip().upper()
    normalized = LEGACY_KEYS.get(normalized, normalized)
    return MENU_INTENTS.get(normalized)


def menu_json() -> str:
    """The body for ``menu/create`` (UTF-8 JSON, Chinese kept readable)."""
    return json.dumps({"button": MENU}, ensure_ascii=False, indent=2)


def menu_keys() -> list[str]:
    keys = []
    for button in MENU:
        for item in button.get("sub_button", [button]):
            if item.get("type") == "click":
                keys.append(str(item["key"]))
    return keys


if __name__ == "__main__":  # pragma: no cover - a tiny CLI
    print(menu_json())

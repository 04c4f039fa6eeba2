"""No action call carries the domain: our actions never read it, and Rasa would otherwise send
all of it (~15 KB) with every call to an action named ``validate_*``."""
from __future__ import annotations

from pathlib import Path

import yaml
from rasa.shared.core.domain import Domain

ROOT = Path(__file__).resolve().parents[3]


def test_no_custom_action_asks_for_the_domain() -> None:
    domain = Domain.load(str(ROOT / "domain.yml"))
    assert {"validate_petition_form", "validate_legal_channel_form"} <= set(domain.user_actions)
    assert [a for a in domain.user_actions if domain.does_custom_action_explicitly_need_domain(a)] == []


def test_the_action_endpoint_sends_the_domain_only_on_request() -> None:
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    assert endpoints["action_endpoint"]["enable_selective_domain"] is True
    prod = yaml.safe_load((ROOT / "docker" / "endpoints.prod.yml").read_text(encoding="utf-8"))
    assert prod["action_endpoint"].get("enable_selective_domain") is True

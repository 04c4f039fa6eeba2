"""Stories in the citizen's own words -> channel, rule and deadline."""
from __future__ import annotations

from datetime import date

import pytest

from bot.triage import triage
from tests.unit.triage.scenarios import SCENARIOS

TODAY = date(2026, 11, 23)


def test_enough_scenarios() -> None:
    assert len(SCENARIOS) >= 45


@pytest.mark.parametrize(("story", "channel", "rule_id", "period", "extra"), SCENARIOS, ids=[s[0][:14] for s in SCENARIOS])
def test_scenario(story: str, channel: str, rule_id: str | None, period: tuple[str, int | None] | None, extra: dict) -> None:
    result = triage(story, None, TODAY)
    assert result.legal_channel == channel, result.rule_id
    if rule_id:
        assert result.rule_id == rule_id
    if period:
        assert (result.deadline["kind"], result.deadline["amount"]) == period
    assert result.citations
    if "due_date" in extra:
        assert result.deadline["due_date"] == extra["due_date"]
    if "alternatives" in extra:
        assert result.legal_channel_alternatives == extra["alternatives"]
    if "where_has" in extra:
        assert extra["where_has"] in result.where
    if extra.get("expired"):
        assert result.deadline["warning"] and "12348" in result.deadline["warning"]
    if extra.get("warning"):
        assert result.deadline["warning"]
    if extra.get("legal_aid"):
        assert "R25_legal_aid" in result.addenda

from __future__ import annotations

import pytest
import rasa.core.actions.action as remote

from bot.dialogue import action_timeout
from bot.settings import Settings


def test_install_sets_the_limit_rasa_reads_at_each_call() -> None:
    before = remote.DEFAULT_REQUEST_TIMEOUT
    try:
        assert action_timeout.install(7) == float(before)
        assert remote.DEFAULT_REQUEST_TIMEOUT == 7
    finally:
        remote.DEFAULT_REQUEST_TIMEOUT = before


def test_a_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        action_timeout.install(0)


def test_the_setting_comes_from_the_environment() -> None:
    assert Settings.from_env({"ACTION_TIMEOUT_SECONDS": "12.5"}).action_timeout_seconds == 12.5
    assert Settings.from_env({}).action_timeout_seconds == 20.0

"""How long the Rasa server waits for the action server on one call.

Rasa 3.6 waits up to 300 s (``rasa.core.actions.action.DEFAULT_REQUEST_TIMEOUT``). A citizen
whose message hangs for five minutes gives up, and Telegram / WeChat have long retried by then.
With a short limit a stuck action server turns into the channel gate's polite "please send it
again in a minute" (``bot.channels.gate``): the turn is not saved, the slots filled before stay,
and the same message works once the action server answers again. Every action of this project
answers in well under a second, so the default limit of 20 s (``ACTION_TIMEOUT_SECONDS``) only
cuts off a server that is stuck.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def install(seconds: float) -> float:
    """Set the limit in this (Rasa server) process; returns the value that was there before."""
    import rasa.core.actions.action as remote

    if seconds <= 0:
        raise ValueError("ACTION_TIMEOUT_SECONDS must be positive")
    before = float(remote.DEFAULT_REQUEST_TIMEOUT)
    remote.DEFAULT_REQUEST_TIMEOUT = seconds  # read by RemoteAction.run at each call
    log.info("action server calls time out after %.0f s (Rasa's default: %.0f s)", seconds, before)
    return before

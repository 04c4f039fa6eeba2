"""The sentence a staff member reads for an error, at the back-office's edges (JSON and pages).

Inner layers name colleagues by login; here, where the staff list is at hand, the login becomes
the display name colleagues know (e.g. "这件案件已由王科长认领").
"""
from __future__ import annotations

import logging

from fastapi import Request

from bot.errors import HeldByColleague, PetitionError

log = logging.getLogger(__name__)


def display_name(request: Request, username: str) -> str:
    """The display name of a login (the login itself when it cannot be looked up)."""
    from bot.backoffice.users import display_names

    try:
        return display_names(request.app.state.session_factory).get(username, username)
    except AttributeError:  # an app without a database (no staff list to ask)
        return username
    except Exception:
        log.warning("display name lookup failed for an error message", exc_info=True)
        return username


def shown_message(request: Request, exc: PetitionError) -> str:
    if isinstance(exc, HeldByColleague):
        return exc.message_for(display_name(request, exc.holder))
    return exc.user_message

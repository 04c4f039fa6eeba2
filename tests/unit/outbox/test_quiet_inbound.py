"""When an inbound message needs no write (bot.outbox.service.quiet_inbound): a pure decision."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.outbox.service import INBOUND_REFRESH, quiet_inbound

AT = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
LAST = AT - timedelta(seconds=5)


def test_a_contact_seen_moments_ago_with_nothing_since_is_quiet() -> None:
    record = quiet_inbound(LAST, LAST - timedelta(minutes=1), False, AT, True)
    assert record is not None
    assert (record.first_time, record.previous_inbound_at, record.released, record.last_buttons) == (
        False, LAST, 0, [])


@pytest.mark.parametrize(
    ("last_inbound", "last_sent", "held", "release_held", "why"),
    [
        (None, None, False, True, "never seen: the contact is created"),
        (AT - INBOUND_REFRESH - timedelta(seconds=1), None, False, True, "seen too long ago: refreshed"),
        (AT + timedelta(seconds=1), None, False, True, "a clock ahead of ours: written"),
        (LAST, LAST, False, True, "something sent since: its buttons are looked up"),
        (LAST, LAST + timedelta(seconds=1), False, False, "something sent since, without releasing"),
        (LAST, None, True, True, "a held message to release"),
    ],
)
def test_anything_to_do_means_a_write(last_inbound: datetime | None, last_sent: datetime | None, held: bool,
                                      release_held: bool, why: str) -> None:
    assert quiet_inbound(last_inbound, last_sent, held, AT, release_held) is None, why


def test_a_held_message_waits_quietly_when_the_channel_hands_it_out_itself() -> None:
    assert quiet_inbound(LAST, None, True, AT, release_held=False) is not None

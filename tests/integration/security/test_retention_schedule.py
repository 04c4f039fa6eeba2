"""The back-office applies the retention period by itself: the scheduled job anonymises old
closed cases shortly after start and again every RETENTION_EVERY_HOURS; 0 turns it off."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.orm import sessionmaker

from bot.backoffice.retention_job import retention_schedule
from bot.cases.deadlines import utcnow
from bot.cases.privacy import ANON_NAME
from bot.cases.service import do_change_status, get_case
from bot.settings import Settings
from tests.integration.security.helpers import submit


def closed_long_ago(session_factory: sessionmaker) -> str:
    at = utcnow() - timedelta(days=400)
    case_no = submit(session_factory, now=at)
    for step, minutes in (("accepted", 1), ("answered", 2), ("closed", 3)):
        do_change_status(session_factory, case_no, step, actor="staff:li", note="已办结",
                         now=at + timedelta(minutes=minutes))
    return case_no


async def wait_until(check, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if check():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_the_schedule_anonymises_old_closed_cases(session_factory: sessionmaker) -> None:
    case_no = closed_long_ago(session_factory)
    settings = Settings(retention_days=365, retention_every_hours=24)  # type: ignore[call-arg]
    async with retention_schedule(settings, session_factory, first_delay_s=0.05):
        done = await wait_until(lambda: get_case(session_factory, case_no).petitioner_name == ANON_NAME)
    assert done, "the scheduled retention run did not anonymise the old closed case"
    assert get_case(session_factory, case_no).anonymised_at is not None


async def test_zero_hours_turns_the_schedule_off(session_factory: sessionmaker) -> None:
    case_no = closed_long_ago(session_factory)
    settings = Settings(retention_days=365, retention_every_hours=0)  # type: ignore[call-arg]
    async with retention_schedule(settings, session_factory, first_delay_s=0.01):
        await asyncio.sleep(0.3)
    assert get_case(session_factory, case_no).petitioner_name != ANON_NAME


async def test_a_recently_closed_case_is_kept(session_factory: sessionmaker) -> None:
    case_no = closed_long_ago(session_factory)
    settings = Settings(retention_days=1000, retention_every_hours=24)  # type: ignore[call-arg]
    async with retention_schedule(settings, session_factory, first_delay_s=0.01):
        await asyncio.sleep(0.5)
    assert get_case(session_factory, case_no).petitioner_name != ANON_NAME

"""Readable case numbers: ``XF`` + yyyymmdd (China date) + ``-`` + daily sequence.

Example ``XF20261123-0007``. The sequence has at least 4 digits (a 10 000th case of a
day gets ``-10000``). It is taken from the ``case_counter`` row of the day inside the
submitting transaction: ``UPDATE case_counter SET last_seq = last_seq + 1`` holds the
row lock on PostgreSQL and the write lock on SQLite until commit, so concurrent
submissions get distinct, gap-free numbers (a rolled back submission releases its
number with the transaction).
"""
from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.cases.deadlines import local_date
from bot.cases.models import Case, CaseCounter
from bot.errors import InvalidInput

PREFIX = "XF"
CASE_NO_RE = re.compile(r"^XF(\d{8})-(\d{4,})$")


def format_case_no(day: date, seq: int) -> str:
    if seq < 1:
        raise ValueError("case sequence starts at 1")
    return f"{PREFIX}{day:%Y%m%d}-{seq:04d}"


def normalize_case_no(value: str) -> str:
    """Accept what people type: spaces, lower case, full-width letters and dash."""
    text = (value or "").strip().upper()
    text = text.translate(str.maketrans("ＸＦ－—０１２３４５６７８９", "XF--0123456789"))
    return re.sub(r"\s+", "", text)


def parse_case_no(value: str) -> tuple[date, int]:
    """(day, sequence) of a case number; :class:`InvalidInput` when malformed."""
    match = CASE_NO_RE.match(normalize_case_no(value))
    if not match:
        raise InvalidInput(f"malformed case number {value!r}", user_message="案件编号格式不对，应类似 XF20261123-0007。")
    try:
        day = datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError:
        raise InvalidInput(f"malformed case number {value!r}") from None
    return day, int(match.group(2))


def is_case_no(value: str) -> bool:
    try:
        parse_case_no(value)
    except InvalidInput:
        return False
    return True


def _max_existing_seq(session: Session, day_key: str) -> int:
    """Highest sequence already used that day (cases stored before the counter row)."""
    rows = session.execute(select(Case.case_no).where(Case.case_no.like(f"{PREFIX}{day_key}-%"))).scalars()
    best = 0
    for case_no in rows:
        match = CASE_NO_RE.match(case_no)
        if match:
            best = max(best, int(match.group(2)))
    return best


def allocate_case_no(session: Session, now: datetime) -> str:
    """Next case number of the China day of ``now``; call inside the submit transaction."""
    day = local_date(now)
    key = f"{day:%Y%m%d}"
    bump = update(CaseCounter).where(CaseCounter.day == key).values(last_seq=CaseCounter.last_seq + 1)
    if session.execute(bump).rowcount == 0:
        start = _max_existing_seq(session, key)
        try:
            with session.begin_nested():
                session.execute(insert(CaseCounter).values(day=key, last_seq=start + 1))
        except IntegrityError:
            # another transaction created the day's row first: wait for its lock, then bump
            session.execute(bump)
    seq = session.execute(select(CaseCounter.last_seq).where(CaseCounter.day == key)).scalar_one()
    return format_case_no(day, seq)

"""What the console reads around one case (linked and same-sender cases)."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import sessionmaker

from bot.cases.db import transaction
from bot.cases.models import Case

MAX_RELATED = 20


def related_cases(session_factory: sessionmaker, case: Case) -> list[tuple[str, Case]]:
    """Cases linked to ``case`` and other cases of the same chat account, as (relation, case).

    Relations: ``earlier`` (this case repeats it), ``later`` (it repeats this case),
    ``same_sender`` (same channel account, not linked).
    """
    found: dict[str, tuple[str, Case]] = {}
    linked_no = getattr(case, "linked_case_no", None)
    with transaction(session_factory) as session:
        conditions = []
        if linked_no:
            conditions.append(Case.case_no == linked_no)
        if hasattr(Case, "linked_case_no"):
            conditions.append(Case.linked_case_no == case.case_no)
        if case.sender_id:
            conditions.append((Case.channel == case.channel) & (Case.sender_id == case.sender_id))
        if not conditions:
            return []
        rows = session.execute(
            select(Case).where(or_(*conditions), Case.id != case.id).order_by(Case.created_at.desc()).limit(MAX_RELATED)
        ).scalars()
        for other in rows:
            if linked_no and other.case_no == linked_no:
                relation = "earlier"
            elif getattr(other, "linked_case_no", None) == case.case_no:
                relation = "later"
            else:
                relation = "same_sender"
            found[other.case_no] = (relation, other)
    return list(found.values())

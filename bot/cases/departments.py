"""The routing table in the database: seeded from ``departments.yml`` on first use, edited by admins."""
from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.cases.db import transaction
from bot.cases.deadlines import to_utc, utcnow
from bot.cases.routing import Department, RoutingRule, RoutingTable, default_table, parse_table, table_to_dict
from bot.cases.routing_models import DepartmentRow, RoutingEvent, RoutingRuleRow


def _write_table(session: Session, table: RoutingTable) -> None:
    for d in table.departments:
        session.add(DepartmentRow(code=d.code, name=d.name, active=d.active))
    session.flush()
    for r in table.rules:
        session.add(RoutingRuleRow(region=r.region, category=r.category, department_code=r.department, priority=r.priority))
    session.flush()


def seed_if_empty(session: Session) -> bool:
    """Load the shipped defaults when no department exists yet; True when it seeded."""
    if session.execute(select(func.count()).select_from(DepartmentRow)).scalar_one():
        return False
    try:
        with session.begin_nested():
            _write_table(session, default_table())
    except IntegrityError:
        return False  # another transaction seeded first
    return True


def load_table(session: Session) -> RoutingTable:
    """The current routing table (seeding the defaults on first use), inside ``session``."""
    seed_if_empty(session)
    departments = session.execute(select(DepartmentRow).order_by(DepartmentRow.code)).scalars().all()
    rules = session.execute(select(RoutingRuleRow).order_by(RoutingRuleRow.id)).scalars().all()
    return RoutingTable(
        tuple(Department(d.code, d.name, bool(d.active)) for d in departments),
        tuple(RoutingRule(r.region, r.category, r.department_code, r.priority) for r in rules),
    )


def get_routing_table(session_factory: sessionmaker) -> RoutingTable:
    with transaction(session_factory, write=True) as session:
        return load_table(session)


def do_replace_routing_table(
    session_factory: sessionmaker,
    data: Mapping[str, Any],
    *,
    actor: str,
    categories: frozenset[str] | None = None,
    now: datetime | None = None,
) -> RoutingTable:
    """Replace departments and rules in one transaction with an audit row holding the old
    table (admin edit). Cases keep the code they were routed to."""
    table = parse_table(data, categories)
    at = to_utc(now) if now is not None else utcnow()
    with transaction(session_factory, write=True) as session:
        before = load_table(session)
        session.execute(delete(RoutingRuleRow))
        session.execute(delete(DepartmentRow))
        session.flush()
        _write_table(session, table)
        note = json.dumps({"before": table_to_dict(before), "after": table_to_dict(table)}, ensure_ascii=False)
        session.add(RoutingEvent(at=at, actor=actor, action="replace_table", note=note))
    return table

"""Tables of case routing (属地管理、分级负责): departments and the region × category rules.

A rule sends cases of a region prefix ('' = anywhere) and a category ('' = any) to a
department; :func:`bot.cases.routing.route` picks the most specific match. Seeded from
``bot/cases/departments.yml`` on first use, edited by admins (``PUT /api/departments``).
Migration: ``0003_workflow``.
"""
from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Text, true

from bot.cases.models import Base, UTCDateTime


class DepartmentRow(Base):
    __tablename__ = "departments"

    code = Column(String(32), primary_key=True)
    name = Column(String(100), nullable=False)
    active = Column(Boolean, nullable=False, default=True, server_default=true())

    def __repr__(self) -> str:
        return f"<Department {self.code} {self.name}>"


class RoutingRuleRow(Base):
    __tablename__ = "routing_rules"

    id = Column(Integer, primary_key=True)
    region = Column(String(200), nullable=False, default="", server_default="")
    category = Column(String(64), nullable=False, default="", server_default="")
    department_code = Column(
        String(32), ForeignKey("departments.code", ondelete="CASCADE"), nullable=False, index=True
    )
    priority = Column(Integer, nullable=False, default=0, server_default="0")

    __table_args__ = (Index("ix_routing_rules_region_category", "region", "category"),)

    def __repr__(self) -> str:
        return f"<RoutingRule {self.region or '*'} × {self.category or '*'} -> {self.department_code}>"


class RoutingEvent(Base):
    """Audit row of an admin's change to departments or rules (the table before and after)."""

    __tablename__ = "routing_events"

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False)
    actor = Column(String(200), nullable=False)
    action = Column(String(64), nullable=False)
    note = Column(Text, nullable=True)

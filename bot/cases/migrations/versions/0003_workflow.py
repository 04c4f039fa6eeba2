"""Case workflow: queue, routing, answers, extension, repeats, satisfaction; departments and routing rules.

Revision ID: 0003_workflow
Revises: 0001
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_workflow"
down_revision = "0001"
branch_labels = ("workflow",)
depends_on = None

TS = sa.DateTime(timezone=True)

CASE_COLUMNS = (
    ("department_code", sa.String(32)),
    ("assignee", sa.String(200)),
    ("claimed_at", TS),
    ("linked_case_no", sa.String(32)),
    ("accepted_at", TS),
    ("extension_reason", sa.Text()),
    ("not_accepted_reason", sa.Text()),
    ("suggested_channel", sa.String(64)),
    ("answer_text", sa.Text()),
    ("answered_at", TS),
    ("review_requested_at", TS),
    ("review_answer_text", sa.Text()),
    ("review_answered_at", TS),
    ("recheck_requested_at", TS),
    ("recheck_answer_text", sa.Text()),
    ("recheck_answered_at", TS),
    ("closed_at", TS),
    ("satisfaction", sa.Integer()),
    ("rated_at", TS),
)


def upgrade() -> None:
    # plain ADD COLUMNs (no table rebuild on SQLite: other tables reference cases)
    for name, type_ in CASE_COLUMNS:
        op.add_column("cases", sa.Column(name, type_, nullable=True))
    op.add_column("cases", sa.Column("joint", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("cases", sa.Column("extended", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE cases SET joint = (people_count > 1) WHERE people_count IS NOT NULL")
    op.create_index("ix_cases_department_code", "cases", ["department_code"])
    op.create_index("ix_cases_assignee", "cases", ["assignee"])

    op.create_table(
        "departments",
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.PrimaryKeyConstraint("code", name="pk_departments"),
    )
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(200), nullable=False, server_default=""),
        sa.Column("category", sa.String(64), nullable=False, server_default=""),
        sa.Column("department_code", sa.String(32), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(
            ["department_code"], ["departments.code"],
            name="fk_routing_rules_department_code_departments", ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_routing_rules"),
    )
    op.create_index("ix_routing_rules_department_code", "routing_rules", ["department_code"])
    op.create_index("ix_routing_rules_region_category", "routing_rules", ["region", "category"])
    op.create_table(
        "routing_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_routing_events"),
    )


def downgrade() -> None:
    op.drop_table("routing_events")
    op.drop_index("ix_routing_rules_region_category", table_name="routing_rules")
    op.drop_index("ix_routing_rules_department_code", table_name="routing_rules")
    op.drop_table("routing_rules")
    op.drop_table("departments")
    op.drop_index("ix_cases_assignee", table_name="cases")
    op.drop_index("ix_cases_department_code", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        for name in ("joint", "extended", *(n for n, _ in CASE_COLUMNS)):
            batch.drop_column(name)

"""Initial case store: cases, case_events (audit), case_counter (case numbers per day).

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_no", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("sender_id", sa.String(128), nullable=True),
        sa.Column("conversation_id", sa.String(128), nullable=True),
        sa.Column("conversation_ref", sa.String(400), nullable=True),
        sa.Column("idempotency_key", sa.String(128), nullable=True),
        sa.Column("petition_type", sa.String(32), nullable=True),
        sa.Column("petitioner_name", sa.String(100), nullable=False),
        sa.Column("id_number", sa.String(32), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("address", sa.String(500), nullable=True),
        sa.Column("issue_region", sa.String(200), nullable=True),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("respondent", sa.String(500), nullable=True),
        sa.Column("occurred_on", sa.String(10), nullable=True),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("demand", sa.Text(), nullable=False),
        sa.Column("people_count", sa.Integer(), nullable=True),
        sa.Column("prior_procedure", sa.String(32), nullable=True),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("legal_channel", sa.String(64), nullable=True),
        sa.Column("legal_channel_alternatives", sa.JSON(), nullable=False),
        sa.Column("triage_rule_id", sa.String(64), nullable=True),
        sa.Column("triage_version", sa.String(64), nullable=True),
        sa.Column("transcript", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("due_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("case_no", name="uq_cases_case_no"),
        sa.UniqueConstraint("idempotency_key", name="uq_cases_idempotency_key"),
    )
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_index("ix_cases_category", "cases", ["category"])
    op.create_index("ix_cases_created_at", "cases", ["created_at"])
    op.create_index("ix_cases_due_at", "cases", ["due_at"])
    op.create_index("ix_cases_channel_sender_id", "cases", ["channel", "sender_id"])

    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("from_status", sa.String(32), nullable=True),
        sa.Column("to_status", sa.String(32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_case_events"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_case_events_case_id_cases", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])

    op.create_table(
        "case_counter",
        sa.Column("day", sa.String(8), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_case_counter"),
    )


def downgrade() -> None:
    op.drop_table("case_counter")
    op.drop_index("ix_case_events_case_id", table_name="case_events")
    op.drop_table("case_events")
    for name in (
        "ix_cases_channel_sender_id",
        "ix_cases_due_at",
        "ix_cases_created_at",
        "ix_cases_category",
        "ix_cases_status",
    ):
        op.drop_index(name, table_name="cases")
    op.drop_table("cases")

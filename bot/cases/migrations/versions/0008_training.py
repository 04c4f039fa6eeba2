"""Admin loop: NLU inbox, training runs, model registry, promotions and their audit.

Revision ID: 0008_training
Revises: 0001
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_training"
down_revision = "0001"
branch_labels = ("training",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "nlu_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=True),
        sa.Column("text_masked", sa.Text(), nullable=False),
        sa.Column("predicted_intent", sa.String(100), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("sender_hash", sa.String(32), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("group_key", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("label_intent", sa.String(100), nullable=True),
        sa.Column("label_entities", sa.JSON(), nullable=True),
        sa.Column("labelled_by", sa.String(200), nullable=True),
        sa.Column("labelled_at", TS, nullable=True),
        sa.Column("label_file", sa.String(300), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_nlu_inbox"),
        sa.UniqueConstraint("message_id", name="uq_nlu_inbox_message_id"),
    )
    op.create_index("ix_nlu_inbox_status_group_key", "nlu_inbox", ["status", "group_key"])
    op.create_index("ix_nlu_inbox_sender_hash_at", "nlu_inbox", ["sender_hash", "at"])

    op.create_table(
        "training_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("step", sa.String(32), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("log_tail", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("data_hash", sa.String(32), nullable=True),
        sa.Column("model_path", sa.String(500), nullable=True),
        sa.Column("live_model", sa.String(200), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("heartbeat_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_training_runs"),
    )
    op.create_index("ix_training_runs_state", "training_runs", ["state"])

    op.create_table(
        "nlu_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("data_hash", sa.String(32), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["training_runs.id"], name="fk_nlu_models_run_id_training_runs",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_nlu_models"),
        sa.UniqueConstraint("file_name", name="uq_nlu_models_file_name"),
    )

    op.create_table(
        "model_promotions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("model_file", sa.String(200), nullable=False),
        sa.Column("previous_model_file", sa.String(200), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("rolled_back_at", TS, nullable=True),
        sa.Column("rolled_back_by", sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["training_runs.id"], name="fk_model_promotions_run_id_training_runs",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_model_promotions"),
    )
    op.create_index("ix_model_promotions_at", "model_promotions", ["at"])

    op.create_table(
        "training_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("inbox_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("model_file", sa.String(200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["inbox_id"], ["nlu_inbox.id"], name="fk_training_events_inbox_id_nlu_inbox",
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["run_id"], ["training_runs.id"], name="fk_training_events_run_id_training_runs",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_training_events"),
    )
    op.create_index("ix_training_events_at", "training_events", ["at"])
    op.create_index("ix_training_events_inbox_id", "training_events", ["inbox_id"])
    op.create_index("ix_training_events_run_id", "training_events", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_training_events_run_id", table_name="training_events")
    op.drop_index("ix_training_events_inbox_id", table_name="training_events")
    op.drop_index("ix_training_events_at", table_name="training_events")
    op.drop_table("training_events")
    op.drop_index("ix_model_promotions_at", table_name="model_promotions")
    op.drop_table("model_promotions")
    op.drop_table("nlu_models")
    op.drop_index("ix_training_runs_state", table_name="training_runs")
    op.drop_table("training_runs")
    op.drop_index("ix_nlu_inbox_sender_hash_at", table_name="nlu_inbox")
    op.drop_index("ix_nlu_inbox_status_group_key", table_name="nlu_inbox")
    op.drop_table("nlu_inbox")

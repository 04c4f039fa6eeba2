"""Personal data protection: encrypted ID/phone columns, blind indexes, retention marker.

``id_number`` and ``phone`` hold AES-GCM ciphertext from now on (``pii1:<kid>:...``, longer
than the old 32 characters), so PostgreSQL drops their length limit. SQLite does not enforce
VARCHAR lengths, and rebuilding ``cases`` there (Alembic batch mode) would cascade-delete the
audit rows under ``PRAGMA foreign_keys=ON``, so SQLite keeps its declared type. Existing
plaintext values stay readable; ``python -m bot.security rotate-keys`` encrypts them and fills
the blind indexes.

Revision ID: 0005_security
Revises: 0001
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_security"
down_revision = "0001"
branch_labels = ("security",)
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        for column in ("id_number", "phone"):
            op.alter_column("cases", column, type_=sa.String(), existing_type=sa.String(32), existing_nullable=True)
    op.add_column("cases", sa.Column("id_number_hash", sa.String(64), nullable=True))
    op.add_column("cases", sa.Column("phone_hash", sa.String(64), nullable=True))
    op.add_column("cases", sa.Column("respondent_department_code", sa.String(64), nullable=True))
    op.add_column("cases", sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_cases_id_number_hash", "cases", ["id_number_hash"])
    op.create_index("ix_cases_phone_hash", "cases", ["phone_hash"])


def downgrade() -> None:
    # The columns stay unbounded: encrypted values would not fit VARCHAR(32) again.
    op.drop_index("ix_cases_phone_hash", table_name="cases")
    op.drop_index("ix_cases_id_number_hash", table_name="cases")
    # plain DROP COLUMN (SQLite >= 3.35), never a table rebuild (see the module docstring)
    for column in ("anonymised_at", "respondent_department_code", "phone_hash", "id_number_hash"):
        op.drop_column("cases", column)

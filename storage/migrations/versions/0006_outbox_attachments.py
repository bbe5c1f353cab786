"""outbox attachments and app secrets

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 05:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attachment", sa.Text(), nullable=True))
    op.create_table(
        "app_secrets",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_app_secrets")),
    )


def downgrade() -> None:
    op.drop_table("app_secrets")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("attachment")

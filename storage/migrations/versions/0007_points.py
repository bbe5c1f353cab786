"""points rules and adjustments

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 05:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "points_rule_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_rule_versions")),
        sa.UniqueConstraint(
            "organisation", "version", name=op.f("uq_points_rule_versions_organisation_version")
        ),
    )
    op.create_table(
        "points_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_member_id", sa.Integer(), nullable=True),
        sa.Column("source_inbox_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_points_adjustments_branch_id_branches")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_points_adjustments_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_member_id"],
            ["members.id"],
            name=op.f("fk_points_adjustments_recorded_by_member_id_members"),
        ),
        sa.ForeignKeyConstraint(
            ["source_inbox_id"],
            ["inbox.id"],
            name=op.f("fk_points_adjustments_source_inbox_id_inbox"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_adjustments")),
    )
    with op.batch_alter_table("points_adjustments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_points_adjustments_branch_id"), ["branch_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_points_adjustments_member_id"), ["member_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("points_adjustments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_points_adjustments_member_id"))
        batch_op.drop_index(batch_op.f("ix_points_adjustments_branch_id"))

    op.drop_table("points_adjustments")
    op.drop_table("points_rule_versions")

"""alerts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:40:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema: the detectors' alerts (docs/rules.md)."""
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("capture_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.Double(), nullable=False),
        sa.Column("last_seen", sa.Double(), nullable=False),
        sa.Column("call_ids", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="new", nullable=False),
        sa.ForeignKeyConstraint(
            ["capture_id"],
            ["captures.id"],
            name=op.f("fk_alerts_capture_id_captures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_capture_id"), ["capture_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_entity"), ["entity"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_first_seen"), ["first_seen"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_rule"), ["rule"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_rule"))
        batch_op.drop_index(batch_op.f("ix_alerts_first_seen"))
        batch_op.drop_index(batch_op.f("ix_alerts_entity"))
        batch_op.drop_index(batch_op.f("ix_alerts_capture_id"))

    op.drop_table("alerts")

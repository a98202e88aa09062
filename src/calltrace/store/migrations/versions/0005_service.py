"""service: alert triage, posted events, API keys, audit log

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 05:10:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema: what `calltrace serve` keeps (docs/api.md)."""
    # SQLite cannot ALTER a column's nullability: batch mode copies the table.
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.alter_column("capture_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("notes", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("updated_by", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("created_at", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_alerts_last_seen"), ["last_seen"], unique=False)
    op.create_table(
        "api_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_key", sa.String(length=128), nullable=False),
        sa.Column("ts", sa.Double(), nullable=False),
        sa.Column("received_at", sa.Double(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("call_id", sa.Text(), nullable=True),
        sa.Column("a_number", sa.Text(), nullable=True),
        sa.Column("b_number", sa.Text(), nullable=True),
        sa.Column("source_ip", sa.String(length=45), nullable=True),
        sa.Column("switch_id", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_events")),
        sa.UniqueConstraint("event_key", name=op.f("uq_api_events_event_key")),
    )
    with op.batch_alter_table("api_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_events_ts"), ["ts"], unique=False)
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("revoked_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_target"), ["target"], unique=False)


def downgrade() -> None:
    """Downgrade schema (alerts of the service, which have no capture, are dropped)."""
    op.drop_table("audit_log")
    op.drop_table("api_keys")
    op.drop_table("api_events")
    op.execute("DELETE FROM alerts WHERE capture_id IS NULL")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_last_seen"))
        batch_op.drop_column("source")
        batch_op.drop_column("created_at")
        batch_op.drop_column("updated_by")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("notes")
        batch_op.alter_column("capture_id", existing_type=sa.Integer(), nullable=False)

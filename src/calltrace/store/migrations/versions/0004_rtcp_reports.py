"""rtcp reports

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 04:40:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema: RTCP sender/receiver/XR reports, one row per report block."""
    op.create_table(
        "rtcp_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("capture_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Text(), nullable=True),
        sa.Column("packet", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.Double(), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("src_ip", sa.String(length=45), nullable=False),
        sa.Column("src_port", sa.Integer(), nullable=False),
        sa.Column("dst_ip", sa.String(length=45), nullable=False),
        sa.Column("dst_port", sa.Integer(), nullable=False),
        sa.Column("sender_ssrc", sa.BigInteger(), nullable=False),
        sa.Column("ssrc", sa.BigInteger(), nullable=True),
        sa.Column("fraction_lost", sa.Double(), nullable=True),
        sa.Column("cumulative_lost", sa.Integer(), nullable=True),
        sa.Column("highest_seq", sa.BigInteger(), nullable=True),
        sa.Column("jitter", sa.BigInteger(), nullable=True),
        sa.Column("jitter_ms", sa.Double(), nullable=True),
        sa.Column("lsr", sa.BigInteger(), nullable=True),
        sa.Column("dlsr_ms", sa.Double(), nullable=True),
        sa.Column("rtt_ms", sa.Double(), nullable=True),
        sa.Column("sender_packets", sa.BigInteger(), nullable=True),
        sa.Column("sender_octets", sa.BigInteger(), nullable=True),
        sa.Column("ntp_time", sa.Double(), nullable=True),
        sa.Column("xr", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["capture_id"],
            ["captures.id"],
            name=op.f("fk_rtcp_reports_capture_id_captures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rtcp_reports")),
    )
    with op.batch_alter_table("rtcp_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rtcp_reports_call_id"), ["call_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_rtcp_reports_capture_id"), ["capture_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rtcp_reports_ssrc"), ["ssrc"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("rtcp_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rtcp_reports_ssrc"))
        batch_op.drop_index(batch_op.f("ix_rtcp_reports_capture_id"))
        batch_op.drop_index(batch_op.f("ix_rtcp_reports_call_id"))

    op.drop_table("rtcp_reports")

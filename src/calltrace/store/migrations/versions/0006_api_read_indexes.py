"""api read indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 08:40:00.000000

The REST API's reads by address (``GET /api/v1/calls?ip=``, ``GET /api/v1/ips/{ip}``)
look up every SIP message from or to an address, and the calls and posted events of
it; without these indexes each such request scans ``sip_messages`` whole (docs/api.md,
"/api/v1", says what they cost ``calltrace analyze``).
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("sip_messages", "src_ip"),
    ("sip_messages", "dst_ip"),
    ("calls", "dst_ip"),
    ("registrations", "dst_ip"),
    ("api_events", "source_ip"),
)


def upgrade() -> None:
    """Upgrade schema: indexes for the reads by address."""
    for table, column in INDEXES:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    for table, column in reversed(INDEXES):
        op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)

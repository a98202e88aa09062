"""The database schema, one definition for SQLite and PostgreSQL (SQLAlchemy 2 Core).

Times are float seconds since the Unix epoch (event time, UTC): exact to the
microsecond, cheap to compare, identical on both engines. Lists and maps that are read
whole (Via values, codecs, methods) are JSON columns, not child tables: nobody queries
"calls whose third Via is X", and a call row stays one row. The schema is changed only
through a migration in ``store/migrations/versions``; a test holds the two together.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

captures = sa.Table(
    "captures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("format", sa.String(16)),
    sa.Column("link_types", sa.JSON, nullable=False),
    sa.Column("packets", sa.BigInteger, nullable=False),
    sa.Column("sip_messages", sa.BigInteger, nullable=False),
    sa.Column("first_ts", sa.Double),
    sa.Column("last_ts", sa.Double),
    sa.Column("analyzed_at", sa.Double, nullable=False),
    sa.Column("calltrace_version", sa.String(32), nullable=False),
)

sip_messages = sa.Table(
    "sip_messages",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("capture_id", sa.ForeignKey("captures.id", ondelete="CASCADE"), nullable=False),
    sa.Column("packet", sa.BigInteger, nullable=False),
    sa.Column("ts", sa.Double, nullable=False),
    sa.Column("src_ip", sa.String(45), nullable=False),
    sa.Column("src_port", sa.Integer, nullable=False),
    sa.Column("dst_ip", sa.String(45), nullable=False),
    sa.Column("dst_port", sa.Integer, nullable=False),
    sa.Column("transport", sa.String(8), nullable=False),
    sa.Column("is_request", sa.Boolean, nullable=False),
    sa.Column("method", sa.String(32), nullable=False),
    sa.Column("request_uri", sa.Text),
    sa.Column("status", sa.Integer),
    sa.Column("reason", sa.Text),
    sa.Column("call_id", sa.Text, nullable=False),
    sa.Column("cseq", sa.BigInteger),
    sa.Column("from_tag", sa.Text),
    sa.Column("to_tag", sa.Text),
    sa.Column("branch", sa.Text),
    sa.Column("defects", sa.JSON),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Index(None, "call_id"),
    sa.Index(None, "capture_id", "packet"),
    sa.Index(None, "src_ip"),  # 0006: the API's reads by address
    sa.Index(None, "dst_ip"),
)

calls = sa.Table(
    "calls",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("capture_id", sa.ForeignKey("captures.id", ondelete="CASCADE"), nullable=False),
    sa.Column("call_id", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("start", sa.Double, nullable=False),
    sa.Column("ringing", sa.Double),
    sa.Column("answered", sa.Double),
    sa.Column("end", sa.Double),
    sa.Column("duration", sa.Double),
    sa.Column("setup_time", sa.Double),
    sa.Column("pdd", sa.Double),
    sa.Column("final_status", sa.Integer),
    sa.Column("final_reason", sa.Text),
    sa.Column("hangup_by", sa.String(8)),
    sa.Column("caller", sa.Text),
    sa.Column("callee", sa.Text),
    sa.Column("from_uri", sa.Text),
    sa.Column("to_uri", sa.Text),
    sa.Column("request_uri", sa.Text),
    sa.Column("pai", sa.Text),
    sa.Column("src_ip", sa.String(45)),
    sa.Column("src_port", sa.Integer),
    sa.Column("dst_ip", sa.String(45)),
    sa.Column("dst_port", sa.Integer),
    sa.Column("transport", sa.String(8)),
    sa.Column("user_agent", sa.Text),
    sa.Column("server", sa.Text),
    sa.Column("auth_challenged", sa.Boolean, nullable=False),
    sa.Column("messages", sa.Integer, nullable=False),
    sa.Column("retransmissions", sa.Integer, nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    # Not unique: one Call-ID can make several calls in one capture (reused after the first
    # ended, or an attack tool that never changes it); re-analysis replaces by capture.
    sa.Index(None, "capture_id"),
    sa.Index(None, "call_id"),
    sa.Index(None, "caller"),
    sa.Index(None, "callee"),
    sa.Index(None, "src_ip"),
    sa.Index(None, "dst_ip"),
    sa.Index(None, "start"),
)

registrations = sa.Table(
    "registrations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("capture_id", sa.ForeignKey("captures.id", ondelete="CASCADE"), nullable=False),
    sa.Column("call_id", sa.Text, nullable=False),
    sa.Column("user", sa.Text),
    sa.Column("domain", sa.Text),
    sa.Column("realm", sa.Text),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("start", sa.Double, nullable=False),
    sa.Column("end", sa.Double, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("challenged", sa.Boolean, nullable=False),
    sa.Column("final_status", sa.Integer),
    sa.Column("user_agent", sa.Text),
    sa.Column("contact", sa.Text),
    sa.Column("expires", sa.Integer),
    sa.Column("src_ip", sa.String(45)),
    sa.Column("src_port", sa.Integer),
    sa.Column("dst_ip", sa.String(45)),
    sa.Column("dst_port", sa.Integer),
    sa.Column("transport", sa.String(8)),
    sa.Column("auth_username", sa.Text),
    sa.Column("packets", sa.JSON, nullable=False),
    sa.Index(None, "capture_id"),
    sa.Index(None, "call_id"),
    sa.Index(None, "user"),
    sa.Index(None, "src_ip"),
    sa.Index(None, "dst_ip"),
)

decode_errors = sa.Table(
    "decode_errors",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("capture_id", sa.ForeignKey("captures.id", ondelete="CASCADE"), nullable=False),
    sa.Column("packet", sa.BigInteger),
    sa.Column("ts", sa.Double),
    sa.Column("layer", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(48), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("call_id", sa.Text),
    sa.Column("defects", sa.JSON),
    sa.Index(None, "capture_id", "kind"),
)

rtp_streams = sa.Table(
    "rtp_streams",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("capture_id", sa.ForeignKey("captures.id", ondelete="CASCADE"), nullable=False),
    sa.Column("call_id", sa.Text),
    sa.Column("ssrc", sa.BigInteger, nullable=False),
    sa.Column("src_ip", sa.String(45), nullable=False),
    sa.Column("src_port", sa.Integer, nullable=False),
    sa.Column("dst_ip", sa.String(45), nullable=False),
    sa.Column("dst_port", sa.Integer, nullable=False),
    sa.Column("payload_type", sa.Integer, nullable=False),
    sa.Column("codec", sa.Text),
    sa.Column("start", sa.Double, nullable=False),
    sa.Column("end", sa.Double, nullable=False),
    sa.Column("packets", sa.BigInteger, nullable=False),
    sa.Column("lost", sa.BigInteger, nullable=False),
    sa.Column("lost_pct", sa.Double, nullable=False),
    sa.Column("max_jitter_ms", sa.Double, nullable=False),
    sa.Column("mos", sa.Double),
    sa.Column("problems", sa.Boolean, nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Index(None, "capture_id"),
    sa.Index(None, "call_id"),
    sa.Index(None, "src_ip"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    # The alert's own deterministic id (model.alert_id): the same evidence analysed again
    # replaces its row instead of adding one.
    sa.Column("id", sa.String(16), primary_key=True),
    # NULL for an alert raised by the service (calltrace serve) rather than by a capture.
    sa.Column("capture_id", sa.ForeignKey("captures.id", ondelete="CASCADE")),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("severity", sa.String(8), nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("entity_type", sa.String(32), nullable=False),
    sa.Column("entity", sa.Text, nullable=False),
    sa.Column("first_seen", sa.Double, nullable=False),
    sa.Column("last_seen", sa.Double, nullable=False),
    sa.Column("call_ids", sa.JSON, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),
    # Triage (docs/api.md): new, investigating, confirmed, false_positive, resolved; the
    # latest notes, who set them and when (wall clock); the history is in audit_log.
    sa.Column("status", sa.String(16), nullable=False, server_default="new"),
    sa.Column("notes", sa.Text),
    sa.Column("updated_at", sa.Double),
    sa.Column("updated_by", sa.Text),
    # Wall-clock time the service stored it (NULL for alerts of `calltrace analyze`).
    sa.Column("created_at", sa.Double),
    sa.Column("source", sa.String(16)),
    sa.Index(None, "capture_id"),
    sa.Index(None, "rule"),
    sa.Index(None, "entity"),
    sa.Index(None, "first_seen"),
    sa.Index(None, "last_seen"),
)

# Call events posted to the service (/acm/call, /acm/calls/batch). ``event_key`` makes a
# retried post idempotent: the client's event_id, else its call_id, else a fresh random id.
api_events = sa.Table(
    "api_events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("event_key", sa.String(128), nullable=False, unique=True),
    sa.Column("ts", sa.Double, nullable=False),
    sa.Column("received_at", sa.Double, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("call_id", sa.Text),
    sa.Column("a_number", sa.Text),
    sa.Column("b_number", sa.Text),
    sa.Column("source_ip", sa.String(45)),
    sa.Column("switch_id", sa.Text),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Index(None, "ts"),  # the restart reads the last window by event time
    sa.Index(None, "source_ip"),
)

# API keys: only the SHA-256 of the key is kept (docs/api.md, "Keys").
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("revoked_at", sa.Double),
)

# Every change made through the service or the keys command: who, when, what.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("at", sa.Double, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Index(None, "target"),
    sa.Index(None, "at"),
)

# One row per RTCP report block (SR/RR), per SR without blocks, per XR VoIP metrics block
# (model.RtcpRecord, trace/rtcpreports.py). 32-bit unsigned wire fields are BigInteger.
rtcp_reports = sa.Table(
    "rtcp_reports",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("capture_id", sa.ForeignKey("captures.id", ondelete="CASCADE"), nullable=False),
    sa.Column("call_id", sa.Text),
    sa.Column("packet", sa.BigInteger, nullable=False),
    sa.Column("ts", sa.Double, nullable=False),
    sa.Column("kind", sa.String(4), nullable=False),
    sa.Column("src_ip", sa.String(45), nullable=False),
    sa.Column("src_port", sa.Integer, nullable=False),
    sa.Column("dst_ip", sa.String(45), nullable=False),
    sa.Column("dst_port", sa.Integer, nullable=False),
    sa.Column("sender_ssrc", sa.BigInteger, nullable=False),
    sa.Column("ssrc", sa.BigInteger),
    sa.Column("fraction_lost", sa.Double),
    sa.Column("cumulative_lost", sa.Integer),
    sa.Column("highest_seq", sa.BigInteger),
    sa.Column("jitter", sa.BigInteger),
    sa.Column("jitter_ms", sa.Double),
    sa.Column("lsr", sa.BigInteger),
    sa.Column("dlsr_ms", sa.Double),
    sa.Column("rtt_ms", sa.Double),
    sa.Column("sender_packets", sa.BigInteger),
    sa.Column("sender_octets", sa.BigInteger),
    sa.Column("ntp_time", sa.Double),
    sa.Column("xr", sa.JSON),
    sa.Index(None, "capture_id"),
    sa.Index(None, "call_id"),
    sa.Index(None, "ssrc"),
)

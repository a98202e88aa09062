"""Hand-made SIP messages and call events for the signalling-attack rule tests."""

from __future__ import annotations

from collections.abc import Sequence

from calltrace.detect.base import Detector, Item
from calltrace.model import Alert, CallEvent, CallEventType, Packet, SipMessage
from tests.detect._events import T0

ATTACKER = "93.184.216.34"  # a public address (example.com's), as scanners have
SERVER = "198.51.100.1"


def request(
    offset: float,
    method: str = "OPTIONS",
    *,
    src: str = ATTACKER,
    dst: str = SERVER,
    port: int = 5060,
    user: str = "100",
    headers: tuple[tuple[str, str], ...] | None = None,
    branch: str | None = "z9hG4bK-1",
    defects: tuple[str, ...] = (),
) -> SipMessage:
    """A request ``offset`` seconds after T0 from ``src`` to ``dst:port`` for ``user``."""
    if headers is None:
        headers = (
            ("via", f"SIP/2.0/UDP {src}:5060;branch={branch}"),
            ("max-forwards", "70"),
            ("from", f"<sip:{user}@{dst}>;tag=a"),
            ("to", f"<sip:{user}@{dst}>"),
            ("call-id", f"c-{offset}"),
            ("cseq", f"1 {method}"),
        )
    packet = Packet(number=1, ts=T0 + offset, src_ip=src, src_port=5060, dst_ip=dst,
                    dst_port=port, transport="udp", payload=b"")  # fmt: skip
    return SipMessage(packet=packet, is_request=True, method=method,
                      request_uri=f"sip:{user}@{dst}", status=None, reason=None,
                      call_id=f"c-{offset}", cseq=1, cseq_method=method, from_tag="a",
                      to_tag=None, branch=branch, headers=headers, body=b"", raw=b"",
                      defects=defects)  # fmt: skip


def response(
    offset: float,
    status: int,
    *,
    user: str = "100",
    to: str = ATTACKER,
    src: str = SERVER,
    method: str = "REGISTER",
    headers: tuple[tuple[str, str], ...] | None = None,
) -> SipMessage:
    """A response from ``src`` back to the prober ``to``, answering for ``user``."""
    if headers is None:
        headers = (
            ("via", f"SIP/2.0/UDP {to}:5060;branch=z9hG4bK-1"),
            ("from", f"<sip:{user}@{src}>;tag=a"),
            ("to", f"<sip:{user}@{src}>;tag=b"),
            ("call-id", f"c-{offset}"),
            ("cseq", f"1 {method}"),
        )
    packet = Packet(number=2, ts=T0 + offset, src_ip=src, src_port=5060, dst_ip=to,
                    dst_port=5060, transport="udp", payload=b"")  # fmt: skip
    return SipMessage(packet=packet, is_request=False, method=method, request_uri=None,
                      status=status, reason="x", call_id=f"c-{offset}", cseq=1,
                      cseq_method=method, from_tag="a", to_tag="b", branch="z9hG4bK-1",
                      headers=headers, body=b"", raw=b"")  # fmt: skip


def event(offset: float, kind: CallEventType, **fields: object) -> CallEvent:
    """A call event ``offset`` seconds after T0 (from an event file unless told)."""
    values: dict[str, object] = {"source": "events", "source_ip": ATTACKER} | fields
    return CallEvent(type=kind, ts=T0 + offset, **values)  # type: ignore[arg-type]


def feed(rule: Detector, items: Sequence[Item | object]) -> list[Alert]:
    """Every alert ``rule`` gives on ``items``, in order."""
    return [alert for item in items for alert in rule.observe(item)]  # type: ignore[arg-type]

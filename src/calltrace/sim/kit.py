"""Building blocks of attack scenarios (pure): hosts, labelled calls, one-shot requests.

Every attack scenario stages its attack and its near misses against the same victim, a
company PBX at 10.20.0.10 (the office scenario's), from sources of its own, so that no
two groups share an entity. Calls go through the generator's ordinary call recipes
(:func:`calltrace.sim.calls.plan_call`) with scripted ring and talk times; requests that
are not calls (a scanner's OPTIONS, svwar's REGISTERs, a flood) are one request and its
answer, built here.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from typing import Final

from calltrace.sim import catalog
from calltrace.sim.calls import CallSpec, plan_call
from calltrace.sim.dialog import MS, NS, Endpoint, Ids, Plan, Request, contact, via

YEALINK: Final = catalog.PHONES[0].agent  # a desk phone's User-Agent
ROUTER_MAC: Final = bytes.fromhex("00005e000101")  # remote hosts arrive through the router
VICTIM: Final = Endpoint(
    ip="10.20.0.10", port=5060, mac=bytes.fromhex("525400a0b0c0"),
    agent=catalog.SERVERS["asterisk"].agent, server=True, domain="pbx.acme.example",
    codecs=catalog.SERVERS["asterisk"].codecs, style="uuid", user="asterisk",
)  # fmt: skip


def host(ip: str, agent: str, *, port: int = 5060, user: str | None = None) -> Endpoint:
    """A remote SIP client at ``ip`` introducing itself as ``agent``."""
    return Endpoint(ip=ip, port=port, mac=ROUTER_MAC, agent=agent, user=user, style="hex",
                    codecs=("PCMU", "PCMA"))  # fmt: skip


def at(base: int, seconds: float) -> int:
    """``base`` (ns) plus ``seconds``."""
    return base + int(seconds * NS)


def labelled(plans: Iterable[Plan], gid: str) -> list[Plan]:
    """Tag every plan with its truth group (``Labels.group``)."""
    out = list(plans)
    for plan in out:
        plan.detail["label"] = gid
    return out


def in_order(*groups: Iterable[Plan]) -> Iterator[Plan]:
    """All plans of a scenario in start order (what ``merge_plans`` expects)."""
    return iter(sorted((p for g in groups for p in g), key=lambda p: p.start))


def call(
    rng: random.Random,
    src: Endpoint,
    a: str,
    b: str,
    start: int,
    *,
    outcome: str = "answered",
    ring_s: float = 3.0,
    talk_s: float = 20.0,
    dst: Endpoint = VICTIM,
    extra: tuple[tuple[str, str], ...] = (),
) -> Plan:
    """One call from ``src`` (A-number ``a``) to ``b`` through the victim PBX."""
    spec = CallSpec(
        caller=src, callee=dst, a_number=a, b_number=b, outcome=outcome, start=start,
        latency=20 * MS, ring_s=ring_s, talk_s=talk_s, extra=extra,
    )  # fmt: skip
    return plan_call(rng, spec)


def request(
    rng: random.Random,
    src: Endpoint,
    method: str,
    user: str,
    start: int,
    *,
    status: int | None = None,
    dst: Endpoint = VICTIM,
    headers: tuple[tuple[str, str], ...] = (),
    call_id: str | None = None,
    cseq: int = 1,
) -> Plan:
    """One out-of-dialog request (OPTIONS, REGISTER) for ``user`` and, with ``status``,
    its final answer 2-25 ms later. ``call_id`` reuses a Call-ID (svcrack's retries)."""
    ids = Ids(rng)
    domain = dst.domain or dst.host
    aor = f"<sip:{user}@{domain}>"
    uri = f"sip:{domain}" if method == "REGISTER" else f"sip:{user}@{dst.hostport}"
    req = Request(
        method=method, uri=uri, via=via(src, "udp", ids.branch()),
        from_=f"{aor};tag={ids.tag(src)}", to=aor, call_id=call_id or ids.call_id(src),
        cseq=cseq, contact=contact(src, user, "udp"), extra=headers,
    )  # fmt: skip
    kind = "register" if method == "REGISTER" else "options"
    plan = Plan(kind=kind, outcome=str(status) if status else "no_response")
    plan.send_request(start, src, dst, req)
    if status is not None:
        answer = start + rng.randrange(2, 25) * MS
        plan.send_response(answer, dst, src, req, status, to_tag=ids.tag(dst))
    plan.detail.update(call_id=req.call_id, user=user, start=start)
    return plan


def spread(start: int, count: int, span_s: float) -> list[int]:
    """``count`` instants evenly over ``span_s`` seconds from ``start`` (first at start)."""
    step = span_s / max(count - 1, 1)
    return [at(start, i * step) for i in range(count)]

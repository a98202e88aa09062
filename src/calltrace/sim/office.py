"""The "office" scenario: a company site's normal day of SIP.

A 40-phone site in 10.20.0.0/16: desk phones (Yealink, Polycom, Grandstream, Cisco,
snom) on an Asterisk PBX over UDP 5060, softphones (Zoiper, Linphone) homed on a
FreeSWITCH on 5080 from random local ports, some over TCP, and an ITSP trunk in a
documentation range (RFC 5737). Calls, registrations with digest challenges and
refreshes, and the PBX's OPTIONS qualify pings. The site is in the UK (its DIDs are
valid UK fixed-line numbers), so at the default start (Monday 09:00 UTC) it is in
office hours; outside callers are in office hours too (calltrace.sim.numbers), and a
phone never dials its own extension.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from calltrace.sim import catalog, numbers
from calltrace.sim.calls import CallSpec, compatible, pick_outcome, plan_call
from calltrace.sim.dialog import MS, NS, Endpoint, Plan
from calltrace.sim.engine import Context, merge_plans
from calltrace.sim.regs import RegisterSpec, plan_options, plan_register
from calltrace.sim.scenarios import scenario


@dataclass(frozen=True, slots=True)
class Office:
    """A company site: an Asterisk PBX, a FreeSWITCH for softphones on 5080, an ITSP trunk."""

    pbx: Endpoint
    fs: Endpoint
    itsp: Endpoint
    phones: tuple[Endpoint, ...]
    soft: tuple[Endpoint, ...]  # softphones homed on the FreeSWITCH (random local ports)
    dids: tuple[str, ...]  # the site's direct-dial numbers at the ITSP


def build_office(rng: random.Random, phones: int = 40) -> Office:
    """Addresses in 10.20.0.0/16; the ITSP in a documentation range (RFC 5737)."""
    ast, fsw, kam = catalog.SERVERS["asterisk"], catalog.SERVERS["freeswitch"], catalog.SERVERS[
        "kamailio"]  # fmt: skip
    pbx = Endpoint(ip="10.20.0.10", port=5060, mac=catalog.mac(ast.oui, rng), agent=ast.agent,
                   server=True, domain="pbx.acme.example", codecs=ast.codecs, style=ast.style,
                   user="asterisk")  # fmt: skip
    fs = Endpoint(ip="10.20.0.12", port=5080, mac=catalog.mac(fsw.oui, rng), agent=fsw.agent,
                  server=True, domain="soft.acme.example", codecs=fsw.codecs, style=fsw.style,
                  user="freeswitch")  # fmt: skip
    itsp = Endpoint(ip="198.51.100.20", port=5060, mac=bytes.fromhex("00005e0001fe"),
                    agent=kam.agent, server=True, domain="sip.itsp.example", codecs=kam.codecs,
                    style=kam.style)  # fmt: skip
    desk: list[Endpoint] = []
    soft: list[Endpoint] = []
    for i in range(phones):
        product = catalog.PHONES[i % len(catalog.PHONES)]
        on_fs = product.tcp and i % 2 == 0
        tcp = product.tcp and (not on_fs or (i // 8) % 2 == 0)
        ep = Endpoint(
            ip=f"10.20.{1 + i // 200}.{10 + i % 200}",
            port=rng.randrange(50000, 60000) if on_fs else 5060,
            mac=catalog.mac(product.oui, rng), agent=product.agent, user=str(2001 + i),
            display=catalog.person(rng), domain=(fs if on_fs else pbx).domain,
            transport="tcp" if tcp else "udp", codecs=product.codecs, style=product.style,
        )  # fmt: skip
        (soft if on_fs else desk).append(ep)
    dids = tuple(numbers.fixed_block("GB", 100))
    return Office(pbx=pbx, fs=fs, itsp=itsp, phones=tuple(desk), soft=tuple(soft), dids=dids)


def office_call(
    rng: random.Random,
    o: Office,
    start: int,
    media: bool,
    *,
    outcome: str | None = None,
    max_talk_s: float | None = None,
) -> Plan:
    """One call of the site's mix: desk phones via the PBX, softphones via FreeSWITCH,
    the PBX to and from its ITSP trunk. A forced ``outcome`` re-draws the parties
    until they can have it (a retransmission needs UDP, a 407 a challenging server)."""
    for _ in range(50):
        caller, callee, a, b, display, challenges = _office_parties(rng, o, start)
        tcp = "tcp" in (caller.transport, callee.transport)
        transport = "tcp" if tcp else "udp"
        if outcome is None or compatible(outcome, transport=transport, challenges=challenges):
            break
    else:  # pragma: no cover - the site always has UDP phones and a challenging PBX
        raise RuntimeError(f"no parties can make a {outcome!r} call")
    spec = CallSpec(
        caller=caller, callee=callee, a_number=a, b_number=b, a_display=display, start=start,
        transport=transport, latency=(15 if o.itsp in (caller, callee) else 1) * MS,
        outcome=outcome or pick_outcome(rng, transport=transport, challenges=challenges),
        media=media, max_talk_s=max_talk_s,
    )  # fmt: skip
    return plan_call(rng, spec)


def _office_parties(
    rng: random.Random, o: Office, start: int
) -> tuple[Endpoint, Endpoint, str, str, str | None, bool]:
    """(caller, callee, A-number, B-number, caller display name, callee challenges);
    outside callers are in business hours at ``start``."""
    kind = rng.random()
    if kind < 0.65:  # a phone dials out through its server
        phone = rng.choice(o.phones + o.soft)
        server = o.fs if phone in o.soft else o.pbx
        if rng.random() < 0.5:  # another desk phone (never its own extension)
            b = rng.choice([p for p in o.phones if p is not phone]).user or "2000"
        else:
            b = catalog.e164(rng)
        return phone, server, phone.user or "", b, phone.display, True
    if kind < 0.85:  # the PBX rings a desk phone
        callee = rng.choice(o.phones)
        return o.pbx, callee, catalog.caller(rng, start), callee.user or "", None, False
    out = rng.random() < 0.6  # the trunk: PBX out to the ITSP, or the ITSP in to a DID
    did = rng.choice(o.dids)
    if out:
        return o.pbx, o.itsp, did, catalog.callee(rng, did), None, True
    return o.itsp, o.pbx, catalog.caller(rng, start), did, None, False


def office_registrations(ctx: Context, o: Office, rng: random.Random) -> Iterator[Plan]:
    """Every phone registers once in the first two minutes and refreshes; 1 in 25 fails."""
    window = min(120.0, ctx.config.duration) * NS
    starts = sorted(ctx.start + rng.randrange(int(window)) for _ in o.phones + o.soft)
    for start, phone in zip(starts, rng.sample(o.phones + o.soft, len(starts)), strict=True):
        server = o.fs if phone in o.soft else o.pbx
        yield plan_register(rng, RegisterSpec(
            client=phone, registrar=server, user=phone.user or "", start=start,
            outcome="failed" if rng.random() < 0.04 else "registered",
            expires=rng.choice((600, 1800, 3600)), until=ctx.end, transport=phone.transport,
            latency=MS,
        ))  # fmt: skip


def office_options(ctx: Context, o: Office, rng: random.Random, rate: float) -> Iterator[Plan]:
    """Qualify pings: the PBX to its phones and to the ITSP trunk."""
    for t in ctx.poisson(rng, rate):
        if rng.random() < 0.3:
            yield plan_options(rng, o.pbx, o.itsp, t, latency=15 * MS)
        else:
            phone = rng.choice(o.phones)
            yield plan_options(rng, o.pbx, phone, t, transport=phone.transport, latency=MS)


#: The site declares its PBX: it qualifies every phone with OPTIONS (a sip_scan by the
#: rule's count) and carries the trunk's and the ring group's calls (concurrent_calls).
OFFICE_ALLOWLISTS: Final = {"sip_scan": ("10.20.0.10",), "concurrent_calls": ("10.20.0.10",)}


@scenario("office", rate=0.5, description="a 40-phone company site: PBX, softphones, trunk",
          allowlists=OFFICE_ALLOWLISTS)  # fmt: skip
def office(ctx: Context) -> Iterator[Plan]:
    rng = ctx.rng("topology")
    site = build_office(rng)
    calls_rng = ctx.rng("calls")
    cap = ctx.config.max_talk_s
    calls = (office_call(calls_rng, site, t, ctx.config.rtp, max_talk_s=cap)
             for t in ctx.poisson(calls_rng, ctx.rate))  # fmt: skip
    return merge_plans(
        calls,
        office_registrations(ctx, site, ctx.rng("registrations")),
        office_options(ctx, site, ctx.rng("options"), 0.4),
    )

"""The "carrier" scenario: a carrier's SBC and its customer trunks.

One SBC (Oracle-style) with listeners on 5060, on 5080 for a FreeSWITCH trunk group
and on IPv6; sixty customer PBXs and SBCs (Asterisk, FreeSWITCH, Cisco CUBE,
AudioCodes, 3CX, Grandstream UCM, Kamailio) in documentation ranges (RFC 5737, RFC
3849), some over TCP. Trunk calls both ways with E.164 numbers of several countries,
registering PBXs, and the SBC's OPTIONS pings. Used for the big benchmark capture.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from calltrace.sim import catalog
from calltrace.sim.calls import CallSpec, pick_outcome, plan_call
from calltrace.sim.dialog import MS, NS, Endpoint, Plan
from calltrace.sim.engine import Context, merge_plans
from calltrace.sim.regs import RegisterSpec, plan_options, plan_register
from calltrace.sim.scenarios import scenario


@dataclass(frozen=True, slots=True)
class Carrier:
    """A carrier edge: SBC listeners (5060, a 5080 trunk group, IPv6) and customer peers."""

    sbc: Endpoint
    sbc_5080: Endpoint
    sbc_v6: Endpoint
    peers: tuple[tuple[Endpoint, Endpoint], ...]  # (peer, the SBC listener it uses)
    registering: tuple[tuple[Endpoint, Endpoint], ...]


def build_carrier(rng: random.Random, peers: int = 60) -> Carrier:
    """Peers in RFC 5737 / RFC 3849 documentation ranges behind one router MAC."""
    oracle = catalog.SERVERS["oracle"]
    router = bytes.fromhex("00005e000101")

    def sbc(ip: str, port: int) -> Endpoint:
        return Endpoint(ip=ip, port=port, mac=bytes.fromhex("00106b0a0b0c"), agent=oracle.agent,
                        server=True, domain="sip.carrier.example", codecs=oracle.codecs,
                        style=oracle.style, user="sbc")  # fmt: skip

    core, core_5080, core_v6 = sbc("203.0.113.10", 5060), sbc("203.0.113.10", 5080), sbc(
        "2001:db8:100::10", 5060)  # fmt: skip
    kinds = [k for k in catalog.SERVERS if k != "oracle"]
    pairs = []
    for i in range(peers):
        product = catalog.SERVERS[kinds[i % len(kinds)]]
        v6 = i % 10 == 9
        ip = f"2001:db8:2{i:02x}::5" if v6 else f"{('198.51.100', '192.0.2')[i % 2]}.{20 + i}"
        port = 5080 if product is catalog.SERVERS["freeswitch"] else 5060
        peer = Endpoint(
            ip=ip, port=port, mac=router, agent=product.agent, server=True,
            domain=f"pbx{i}.customer.example", codecs=product.codecs, style=product.style,
            transport="tcp" if (product.tcp or (port == 5080 and i % 3 == 0)) and not v6 else "udp",
            user=f"trunk{i}",
        )  # fmt: skip
        pairs.append((peer, core_v6 if v6 else core_5080 if port == 5080 else core))
    registering = tuple(p for p in pairs if p[0].agent in
                        (catalog.SERVERS["3cx"].agent, catalog.SERVERS["ucm"].agent))  # fmt: skip
    return Carrier(sbc=core, sbc_5080=core_5080, sbc_v6=core_v6, peers=tuple(pairs),
                   registering=registering)  # fmt: skip


def peer_for(c: Carrier, number: str) -> tuple[Endpoint, Endpoint]:
    """The customer (peer, SBC listener) a number belongs to: a fixed function of the
    number, so one subscriber always reaches the carrier through one trunk and one kind
    of device (as in life; a number on many trunks is a device_inconsistency alert)."""
    return c.peers[zlib.crc32(number.encode()) % len(c.peers)]


def carrier_call(
    rng: random.Random, c: Carrier, start: int, media: bool, max_talk_s: float | None = None
) -> Plan:
    """A trunk call between a customer peer and the SBC, either way, E.164 both ends: in
    from the caller's customer, or out to the callee's."""
    inbound = rng.random() < 0.7
    a = catalog.caller(rng, start)
    b = catalog.callee(rng, a)
    peer, sbc = peer_for(c, a if inbound else b)
    caller, callee = (peer, sbc) if inbound else (sbc, peer)
    spec = CallSpec(
        caller=caller, callee=callee, a_number=a, b_number=b, start=start,
        transport=peer.transport, latency=rng.randrange(5, 40) * MS, media=media,
        outcome=pick_outcome(rng, transport=peer.transport, challenges=inbound),
        max_talk_s=max_talk_s,
    )  # fmt: skip
    return plan_call(rng, spec)


def carrier_allowlists(site: Carrier) -> dict[str, tuple[str, ...]]:
    """What the carrier declares: its SBC (OPTIONS to every trunk, calls and 404s for
    every customer, traffic of thousands of lines) to the rules that count per source,
    and its customers' trunks (many lines, many numbers, a 407 per INVITE) to the two
    that count lines and failures per source (docs/rules.md, "known false positives")."""
    sbc = (site.sbc.ip, site.sbc_v6.ip)
    trunks = tuple(sorted({peer.ip for peer, _ in site.peers}))
    return {
        "sip_scan": sbc, "request_flood": sbc, "mass_dialing": sbc,
        "concurrent_calls": sbc + trunks, "extension_enumeration": sbc + trunks,
    }  # fmt: skip


@scenario("carrier", rate=30.0, description="a carrier SBC with 60 customer trunks",
          allowlists=carrier_allowlists(build_carrier(random.Random(0))))  # fmt: skip
def carrier(ctx: Context) -> Iterator[Plan]:
    site = build_carrier(ctx.rng("topology"))
    calls_rng, reg_rng, opt_rng = ctx.rng("calls"), ctx.rng("registrations"), ctx.rng("options")
    cap = ctx.config.max_talk_s
    calls = (carrier_call(calls_rng, site, t, ctx.config.rtp, cap)
             for t in ctx.poisson(calls_rng, ctx.rate))  # fmt: skip
    window = min(60.0, ctx.config.duration) * NS
    reg_starts = sorted(ctx.start + reg_rng.randrange(int(window)) for _ in site.registering)
    regs = (
        plan_register(reg_rng, RegisterSpec(
            client=peer, registrar=sbc, user=peer.user or "", start=start, expires=600,
            until=ctx.end, transport=peer.transport, latency=20 * MS,
            outcome="failed" if reg_rng.random() < 0.1 else "registered",
        ))
        for start, (peer, sbc) in zip(reg_starts, site.registering, strict=True)
    )  # fmt: skip
    pings = (
        plan_options(opt_rng, sbc, peer, t, transport=peer.transport, latency=20 * MS)
        for t in ctx.poisson(opt_rng, len(site.peers) / 30.0)
        for peer, sbc in (opt_rng.choice(site.peers),)
    )
    return merge_plans(calls, regs, pings)

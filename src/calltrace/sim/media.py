"""The "media" scenario: many concurrent answered trunk calls with RTP, for media benchmarks.

Issue 3's speed check wants at least 200 concurrent calls of 60 s (over a million RTP
packets). Calls start evenly, ``rate`` per second, for ``duration`` seconds (so
``rate * duration`` calls; 20/s for 10 s gives 200), each is answered and talks for
exactly ``talk_s`` seconds (60 by default; ``max_talk_s`` still caps it), and carries
G.711/G.729 RTP both ways (one stream in ten is put on hold, so talkspurts, re-INVITEs and
marker bits appear). The peers are the carrier scenario's IPv4 trunks, over UDP and TCP.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from calltrace.sim import catalog
from calltrace.sim.calls import CallSpec, plan_call
from calltrace.sim.carrier import build_carrier
from calltrace.sim.dialog import MS, NS, Plan
from calltrace.sim.engine import Context
from calltrace.sim.scenarios import scenario

TALK_S: Final = 60.0
HOLD_SHARE: Final = 0.1


@scenario("media", rate=20.0, description="concurrent answered calls with RTP (benchmarks)")
def media(ctx: Context) -> Iterator[Plan]:
    site = build_carrier(ctx.rng("topology"))
    peers = [pair for pair in site.peers if ":" not in pair[0].ip]
    rng = ctx.rng("calls")
    count = int(ctx.rate * (ctx.end - ctx.start) / NS)
    step = int(NS / ctx.rate)
    for i in range(count):
        peer, sbc = rng.choice(peers)
        inbound = rng.random() < 0.7
        caller, callee = (peer, sbc) if inbound else (sbc, peer)
        a = catalog.caller(rng, ctx.start + i * step)
        spec = CallSpec(
            caller=caller, callee=callee, a_number=a,
            b_number=catalog.callee(rng, a), start=ctx.start + i * step, transport=peer.transport,
            latency=rng.randrange(5, 40) * MS, media=ctx.config.rtp,
            outcome="hold" if rng.random() < HOLD_SHARE else "answered",
            max_talk_s=ctx.config.max_talk_s, talk_s=TALK_S,
        )  # fmt: skip
        yield plan_call(rng, spec)

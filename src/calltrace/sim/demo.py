"""The "demo" scenario behind the bundled sample: every outcome, in a few minutes.

Where "office" draws its mix at random, "demo" is scripted so that a small capture
shows everything an analyst looks for in a demo: each call outcome several times
(answered and hung up by either side, hold, busy, no answer, 404/403/503, a 407
challenge, forked early media, a retransmitted INVITE), ten registrations with digest
challenges, refreshes and one failure, OPTIONS pings, TCP with coalesced and split
segments, softphones on port 5080, and a few calls carrying a few seconds of RTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from calltrace.sim.dialog import NS, Plan
from calltrace.sim.engine import Context, merge_plans
from calltrace.sim.office import Office, build_office, office_call
from calltrace.sim.regs import RegisterSpec, plan_options, plan_register
from calltrace.sim.scenarios import scenario

DEMO_CALLS: Final[dict[str, int]] = {
    "answered": 16, "hold": 3, "auth_answered": 4, "early_media": 3, "retransmitted": 3,
    "busy": 5, "no_answer": 6, "not_found": 3, "forbidden": 2, "unavailable": 3,
}  # fmt: skip
MEDIA_CALLS: Final = 5  # answered calls that carry RTP
MEDIA_SECONDS: Final = 4.0  # talk time of those calls, to keep the sample small
TALK_CAP_SECONDS: Final = 75.0  # talk time cap of the others, to keep the timeline short


@scenario("demo", rate=0.2, description="scripted: every call outcome in four minutes (sample)")
def demo(ctx: Context) -> Iterator[Plan]:
    site = build_office(ctx.rng("topology"))
    return merge_plans(_calls(ctx, site), _registrations(ctx, site), _pings(ctx, site))


def _calls(ctx: Context, site: Office) -> Iterator[Plan]:
    rng = ctx.rng("calls")
    outcomes = [outcome for outcome, n in DEMO_CALLS.items() for _ in range(n)]
    rng.shuffle(outcomes)
    span = max(ctx.end - ctx.start - 60 * NS, NS)
    starts = sorted(ctx.start + 15 * NS + rng.randrange(span) for _ in outcomes)
    media_left = MEDIA_CALLS if ctx.config.rtp else 0
    for start, outcome in zip(starts, outcomes, strict=True):
        media = outcome == "answered" and media_left > 0
        media_left -= media
        cap = MEDIA_SECONDS if media else TALK_CAP_SECONDS
        yield office_call(rng, site, start, media, outcome=outcome, max_talk_s=cap)


def _registrations(ctx: Context, site: Office) -> Iterator[Plan]:
    """Seven desk phones over UDP, the TCP desk phone, two softphones; one bad password."""
    rng = ctx.rng("registrations")
    udp = [p for p in site.phones if p.transport == "udp"][:7]
    tcp = [p for p in site.phones if p.transport == "tcp"][:1]
    soft = list(site.soft[:2])
    clients = udp + tcp + soft
    starts = sorted(ctx.start + rng.randrange(12 * NS) for _ in clients)
    failing = rng.randrange(len(clients))
    for i, (start, phone) in enumerate(zip(starts, clients, strict=True)):
        server = site.fs if phone in site.soft else site.pbx
        yield plan_register(rng, RegisterSpec(
            client=phone, registrar=server, user=phone.user or "", start=start,
            outcome="failed" if i == failing else "registered",
            expires=120 if i % 3 == 0 else 3600, until=ctx.end, transport=phone.transport,
            latency=NS // 1000,
        ))  # fmt: skip


def _pings(ctx: Context, site: Office) -> Iterator[Plan]:
    """The PBX qualifying the ITSP trunk every 30 s and a desk phone now and then."""
    rng = ctx.rng("options")
    t = ctx.start + 5 * NS
    while t < ctx.end:
        yield plan_options(rng, site.pbx, site.itsp, t, latency=15 * NS // 1000)
        if rng.random() < 0.5:
            phone = rng.choice(site.phones)
            yield plan_options(rng, site.pbx, phone, t + 7 * NS, transport=phone.transport)
        t += 30 * NS

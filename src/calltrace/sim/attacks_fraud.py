"""Attack scenarios of call fraud: masking, toll fraud, IRSF, wangiri, autodialers and
concurrency, each with its near misses (numbers in docs/simulate.md).

Numbers are real-looking and valid for libphonenumber where the rule cares: UK premium
rate +44 871, US premium +1 900, Iridium +8816, IRSF-prone Latvian +371 6712 34xx (a
listed IRSF destination: the irsf rule needs one without a home region), UK drama
numbers 020 7946 0xxx for everyone else. Each group calls from its own
source so no two groups share an entity.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from calltrace.sim.dialog import Plan
from calltrace.sim.engine import Context
from calltrace.sim.kit import YEALINK, at, call, host, in_order, labelled, spread
from calltrace.sim.scenarios import scenario

TRUNK_UA = "Asterisk PBX 18.20.0"  # the customer trunks the attacks come through


@scenario("multicall_masking", rate=0.0, rule="multicall_masking",
          description="6 callers to one B-number in 2.5 s; near misses 4 in 2 s, 5 over 6 s, "
          "10 calls from 2 callers")  # fmt: skip
def multicall_masking(ctx: Context) -> Iterator[Plan]:
    rng, labels = ctx.rng("multicall_masking"), ctx.labels
    rule, t = "multicall_masking", at(ctx.start, 5)
    groups = []
    staged = (
        # (kind, description, B, A-numbers in call order, span s, source)
        ("attack", "6 distinct callers within 2.5 s", "+442079460500",
         [f"+4420794605{10 + i}" for i in range(6)], 2.5, "203.0.113.201"),
        ("near_miss", "4 callers in 2 s (threshold 5)", "+442079460501",
         [f"+4420794605{20 + i}" for i in range(4)], 2.0, "203.0.113.151"),
        ("near_miss", "5 callers spread over 6 s (window 5 s)", "+442079460502",
         [f"+4420794605{30 + i}" for i in range(5)], 6.0, "203.0.113.152"),
        ("near_miss", "10 calls from 2 callers within 4.5 s", "+442079460503",
         ["+442079460540", "+442079460541"] * 5, 4.5, "203.0.113.153"),
    )  # fmt: skip
    for n, (kind, text, b, callers, span, ip) in enumerate(staged):
        gid = labels.group(rule, kind, text, b_number=[b], a_number=callers, source_ip=[ip])
        src = host(ip, TRUNK_UA)
        starts = spread(at(t, 10 * n), len(callers), span)
        pairs = zip(callers, starts, strict=True)
        groups.append(labelled((call(rng, src, a, b, s, ring_s=2.0, talk_s=4.0)
                                for a, s in pairs), gid))  # fmt: skip
    return in_order(*groups)


PREMIUM = ("+448712345678", "+19005550123", "+881612345678", "+448719876543", "+881631234567")


@scenario("toll_fraud", rate=0.0, rule="toll_fraud",
          description="a hijacked account calling 5 premium/satellite numbers in 4 min; near "
          "miss 2 in 10 min")  # fmt: skip
def toll_fraud(ctx: Context) -> Iterator[Plan]:
    rng, labels = ctx.rng("toll_fraud"), ctx.labels
    attacker, near = "203.0.113.215", "203.0.113.165"
    gid = labels.group("toll_fraud", "attack", "5 premium-rate and satellite calls in 4 min",
                       source_ip=[attacker], a_number=["2099"], account=["2099"],
                       b_number=list(PREMIUM))  # fmt: skip
    nid = labels.group("toll_fraud", "near_miss", "2 premium calls in 10 min (threshold 3)",
                       source_ip=[near], a_number=["2098"], account=["2098"],
                       b_number=["+448715550100", "+19005550188"])  # fmt: skip
    bad, good = host(attacker, "Zoiper rv2.10.20.1"), host(near, "Yealink SIP-T46S 66.86.0.15")
    return in_order(
        labelled((call(rng, bad, "2099", b, s, talk_s=30.0)
                  for b, s in zip(PREMIUM, spread(at(ctx.start, 5), 5, 240), strict=True)), gid),
        labelled((call(rng, good, "2098", b, s, talk_s=30.0)
                  for b, s in zip(("+448715550100", "+19005550188"),
                                  (at(ctx.start, 6), at(ctx.start, 500)), strict=True)), nid),
    )  # fmt: skip


@scenario("irsf", rate=0.0, rule="irsf",
          description="12 long calls to 8 sequential Latvian numbers in 8 min; near miss 9 "
          "calls")  # fmt: skip
def irsf(ctx: Context) -> Iterator[Plan]:
    rng, labels = ctx.rng("irsf"), ctx.labels
    attacker, near = "203.0.113.216", "203.0.113.166"
    # Latvia +371: a listed IRSF destination (enrich/data/high_risk.toml), so irsf counts
    # it without a configured home region (toll_fraud rightly fires on these calls too)
    pumped = [f"+371671234{40 + i % 8}" for i in range(12)]
    near_b = [f"+371671334{40 + i % 6}" for i in range(9)]
    gid = labels.group("irsf", "attack", "12 calls, 8 distinct sequential B, 2-4 min each",
                       source_ip=[attacker], a_number=["2097"], account=["2097"],
                       b_number=pumped)  # fmt: skip
    nid = labels.group("irsf", "near_miss", "9 calls to 6 B in the range (threshold 10)",
                       source_ip=[near], a_number=["2096"], account=["2096"],
                       b_number=near_b)  # fmt: skip
    bad, good = host(attacker, "Zoiper rv2.10.20.1"), host(near, "Zoiper rv2.10.20.1")
    return in_order(
        labelled((call(rng, bad, "2097", b, s, talk_s=120.0 + 10 * i) for i, (b, s) in
                  enumerate(zip(pumped, spread(at(ctx.start, 5), 12, 480), strict=True))), gid),
        labelled((call(rng, good, "2096", b, s, talk_s=120.0) for b, s in
                  zip(near_b, spread(at(ctx.start, 7), 9, 480), strict=True)), nid),
    )  # fmt: skip


#: Rung numbers that call the wangiri number back (the victims the fraud is after), and
#: when: after the burst, from their desk phones behind the victim PBX.
CALLBACKS: Final = (3, 11, 19)


@scenario("wangiri", rate=0.0, rule="wangiri",
          description="one A-number ringing 25 B-numbers for 2-3 s each, 3 of them calling "
          "back; near miss 19")  # fmt: skip
def wangiri(ctx: Context) -> Iterator[Plan]:
    rng, labels = ctx.rng("wangiri"), ctx.labels
    attacker, near = "203.0.113.217", "203.0.113.167"
    victims = [f"+4420794{6 + i % 3}{rng.randrange(1000, 9999)}" for i in range(25)]
    near_b = [f"+4420794{6 + i % 3}{rng.randrange(1000, 9999)}" for i in range(19)]
    gid = labels.group("wangiri", "attack",
                       "25 B-numbers rung < 3 s and cancelled in 5 min; 3 call back",
                       source_ip=[attacker], a_number=["+2693214000"],
                       b_number=victims)  # fmt: skip
    nid = labels.group("wangiri", "near_miss", "19 B-numbers (threshold 20 in 10 min)",
                       source_ip=[near], a_number=["+2693215000"], b_number=near_b)  # fmt: skip
    bad, good = host(attacker, TRUNK_UA), host(near, TRUNK_UA)
    phones = [host(f"10.20.9.{31 + k}", YEALINK) for k in range(len(CALLBACKS))]
    return in_order(
        labelled((call(rng, bad, "+2693214000", b, s, outcome="no_answer",
                       ring_s=2.0 + (i % 3) / 2) for i, (b, s) in
                  enumerate(zip(victims, spread(at(ctx.start, 5), 25, 300), strict=True))), gid),
        labelled((call(rng, phone, victims[v], "+2693214000", at(ctx.start, 320 + 20 * k),
                       talk_s=40.0)
                  for k, (v, phone) in enumerate(zip(CALLBACKS, phones, strict=True))), gid),
        labelled((call(rng, good, "+2693215000", b, s, outcome="no_answer", ring_s=2.5)
                  for b, s in zip(near_b, spread(at(ctx.start, 6), 19, 300), strict=True)), nid),
    )  # fmt: skip


@scenario("mass_dialing", rate=0.0, rule="mass_dialing",
          description="55 calls to sequential numbers in 5 min; near miss 45")  # fmt: skip
def mass_dialing(ctx: Context) -> Iterator[Plan]:
    rng, labels = ctx.rng("mass_dialing"), ctx.labels
    attacker, near = "203.0.113.218", "203.0.113.168"
    dialled = [f"+44207946{1000 + i}" for i in range(55)]
    near_b = [f"+44207946{2000 + i}" for i in range(45)]
    gid = labels.group("mass_dialing", "attack", "autodialer: 55 sequential B in 5 min",
                       source_ip=[attacker], a_number=["+442079460900"],
                       b_number=dialled)  # fmt: skip
    nid = labels.group("mass_dialing", "near_miss", "45 sequential B in 5 min (threshold 50)",
                       source_ip=[near], a_number=["+442079460901"], b_number=near_b)  # fmt: skip
    bad, good = host(attacker, TRUNK_UA), host(near, TRUNK_UA)

    def dial(src: object, a: str, numbers: list[str], begin: int) -> Iterator[Plan]:
        for i, (b, s) in enumerate(zip(numbers, spread(begin, len(numbers), 290), strict=True)):
            outcome = "busy" if i % 4 == 3 else "answered"
            yield call(rng, src, a, b, s, outcome=outcome, ring_s=4.0, talk_s=6.0)  # type: ignore[arg-type]

    return in_order(
        labelled(dial(bad, "+442079460900", dialled, at(ctx.start, 5)), gid),
        labelled(dial(good, "+442079460901", near_b, at(ctx.start, 6)), nid),
    )


@scenario("concurrent_calls", rate=0.0, rule="concurrent_calls",
          description="12 simultaneous calls from one account; near miss 9")  # fmt: skip
def concurrent_calls(ctx: Context) -> Iterator[Plan]:
    rng, labels = ctx.rng("concurrent_calls"), ctx.labels
    attacker, near = "203.0.113.219", "203.0.113.169"
    many = [f"+44207946{3000 + 37 * i}" for i in range(12)]
    fewer = [f"+44207946{4000 + 37 * i}" for i in range(9)]
    gid = labels.group("concurrent_calls", "attack", "12 calls up at once for 60 s",
                       source_ip=[attacker], a_number=["2095"], account=["2095"])  # fmt: skip
    nid = labels.group("concurrent_calls", "near_miss", "9 calls up at once (threshold 10)",
                       source_ip=[near], a_number=["2094"], account=["2094"])  # fmt: skip
    bad, good = host(attacker, "Zoiper rv2.10.20.1"), host(near, "Zoiper rv2.10.20.1")
    return in_order(
        labelled((call(rng, bad, "2095", b, s, ring_s=1.0, talk_s=60.0)
                  for b, s in zip(many, spread(at(ctx.start, 5), 12, 11), strict=True)), gid),
        labelled((call(rng, good, "2094", b, s, ring_s=1.0, talk_s=60.0)
                  for b, s in zip(fewer, spread(at(ctx.start, 6), 9, 8), strict=True)), nid),
    )  # fmt: skip

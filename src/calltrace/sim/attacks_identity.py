"""Attack scenarios about who is calling: odd hours, spoofed CLIs, a changed device, an
impossible journey, call forwarding; each with its near misses (docs/simulate.md).

Geo rules need public addresses whose country the bundled database knows (checked with
``calltrace.enrich.geo.IpIntel``): 194.25.2.129 and 194.25.2.130 (DE, Deutsche Telekom),
217.160.0.1 (DE, IONOS), 200.160.2.3 (BR, NIC.br), 81.2.69.160 and 2.125.160.216 (GB).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from calltrace.sim.dialog import NS, Plan
from calltrace.sim.engine import Context
from calltrace.sim.kit import VICTIM, YEALINK, at, call, host, in_order, labelled
from calltrace.sim.regs import RegisterSpec, plan_register
from calltrace.sim.scenarios import scenario


def _clock(ctx: Context, hour: float) -> int:
    """The first time of day ``hour`` (UTC) at or after the run's start, in ns."""
    start = ctx.config.start
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    moment = day + timedelta(hours=hour)
    if moment < start:
        moment += timedelta(days=1)
    return int(moment.timestamp()) * NS


@scenario("after_hours", rate=0.0, rule="after_hours",
          description="London callers at 22:00 local on a weekday; near miss at 17:30")  # fmt: skip
def after_hours(ctx: Context) -> Iterator[Plan]:
    """With the default start (Monday 5 January 2026, 09:00 UTC; London is on UTC in
    January) the attack is Monday 22:00 and the near miss Monday 17:30 local."""
    rng, labels = ctx.rng("after_hours"), ctx.labels
    bad_a, good_a = ["+442079460801", "+442079460802"], ["+442079460811", "+442079460812"]
    gid = labels.group("after_hours", "attack", "3 calls at 22:00 London time on a weekday",
                       source_ip=["81.2.69.160"], a_number=bad_a)  # fmt: skip
    nid = labels.group("after_hours", "near_miss", "calls at 17:30, inside 08:00-18:00",
                       source_ip=["2.125.160.216"], a_number=good_a)  # fmt: skip
    bad, good = host("81.2.69.160", YEALINK), host("2.125.160.216", YEALINK)
    late, evening = _clock(ctx, 22.0), _clock(ctx, 17.5)
    return in_order(
        labelled([call(rng, bad, bad_a[i % 2], f"+19005550{120 + i}", at(late, 60 * i))
                  for i in range(3)], gid),
        labelled([call(rng, good, good_a[i % 2], f"+442079460{820 + i}", at(evening, 60 * i))
                  for i in range(3)], nid),
    )  # fmt: skip


def _pai(number: str) -> tuple[tuple[str, str], ...]:
    return (("P-Asserted-Identity", f"<sip:{number}@{VICTIM.domain}>"),)


@scenario("cli_spoofing", rate=0.0, rule="cli_spoofing",
          description="A = B, From vs P-Asserted-Identity mismatch, an invalid CLI; near "
          "miss a clean trunk call with a matching PAI")  # fmt: skip
def cli_spoofing(ctx: Context) -> Iterator[Plan]:
    rng, labels = ctx.rng("cli_spoofing"), ctx.labels
    attacker, near = "203.0.113.220", "203.0.113.170"
    spoofed = ["+442079460700", "+442079460701", "+4420794"]
    gid = labels.group("cli_spoofing", "attack", "A = B; From differs from PAI; invalid CLI",
                       source_ip=[attacker], a_number=spoofed)  # fmt: skip
    nid = labels.group("cli_spoofing", "near_miss", "From and PAI agree, valid CLI",
                       source_ip=[near], a_number=["+442079460711"])  # fmt: skip
    bad, good = host(attacker, "Asterisk PBX 18.20.0"), host(near, "Asterisk PBX 18.20.0")
    t = at(ctx.start, 5)
    return in_order(labelled([
        call(rng, bad, spoofed[0], spoofed[0], t),
        call(rng, bad, spoofed[1], "+442079460750", at(t, 3), extra=_pai("+4915112345678")),
        call(rng, bad, spoofed[2], "+442079460751", at(t, 6)),
    ], gid), labelled([
        call(rng, good, "+442079460711", "+442079460760", at(t, 1),
             extra=_pai("+442079460711")),
    ], nid))  # fmt: skip


def _register(rng: object, ip: str, agent: str, user: str, start: int) -> Plan:
    return plan_register(rng, RegisterSpec(  # type: ignore[arg-type]
        client=host(ip, agent, user=user), registrar=VICTIM, user=user, start=start,
        expires=3600, latency=20 * 1_000_000,
    ))  # fmt: skip


@scenario("device_inconsistency", rate=0.0, rule="device_inconsistency",
          description="an account on a Yealink, 10 min later on Zoiper; near miss a "
          "firmware upgrade")  # fmt: skip
def device_inconsistency(ctx: Context) -> Iterator[Plan]:
    rng, labels = ctx.rng("device_inconsistency"), ctx.labels
    ip, near_ip = "203.0.113.222", "203.0.113.172"
    gid = labels.group("device_inconsistency", "attack", "Yealink then Zoiper within 10 min",
                       account=["3010"], a_number=["3010"], source_ip=[ip])  # fmt: skip
    nid = labels.group("device_inconsistency", "near_miss",
                       "Yealink firmware 66.86.0.15 then 66.86.0.160 (one family)",
                       account=["3011"], a_number=["3011"], source_ip=[near_ip])  # fmt: skip
    t = at(ctx.start, 5)
    return in_order(labelled([
        _register(rng, ip, YEALINK, "3010", t),
        call(rng, host(ip, YEALINK), "3010", "+442079460901", at(t, 30)),
        _register(rng, ip, "Zoiper rv2.10.20.1", "3010", at(t, 600)),
        call(rng, host(ip, "Zoiper rv2.10.20.1"), "3010", "+442079460902", at(t, 630)),
    ], gid), labelled([
        _register(rng, near_ip, YEALINK, "3011", at(t, 1)),
        _register(rng, near_ip, "Yealink SIP-T46S 66.86.0.160", "3011", at(t, 601)),
        call(rng, host(near_ip, "Yealink SIP-T46S 66.86.0.160"), "3011", "+442079460903",
             at(t, 631)),
    ], nid))  # fmt: skip


@scenario("geo_anomaly", rate=0.0, rule="geo_anomaly",
          description="an account in Germany, 20 min later in Brazil; near miss two German "
          "networks")  # fmt: skip
def geo_anomaly(ctx: Context) -> Iterator[Plan]:
    rng, labels = ctx.rng("geo_anomaly"), ctx.labels
    gid = labels.group("geo_anomaly", "attack", "DE (194.25.2.129) then BR (200.160.2.3) in 20 min",
                       account=["3020"], a_number=["3020"], source_ip=["200.160.2.3"])  # fmt: skip
    nid = labels.group("geo_anomaly", "near_miss", "DE (217.160.0.1) then DE (194.25.2.130)",
                       account=["3021"], a_number=["3021"],
                       source_ip=["217.160.0.1", "194.25.2.130"])  # fmt: skip
    t = at(ctx.start, 5)
    plans = []
    for user, first, second, gid_ in (("3020", "194.25.2.129", "200.160.2.3", gid),
                                      ("3021", "217.160.0.1", "194.25.2.130", nid)):  # fmt: skip
        offset = 0 if user == "3020" else 2
        plans.append(labelled([
            _register(rng, first, YEALINK, user, at(t, offset)),
            call(rng, host(first, YEALINK), user, "+442079460910", at(t, offset + 30)),
            _register(rng, second, YEALINK, user, at(t, offset + 1200)),
            call(rng, host(second, YEALINK), user, "+442079460911", at(t, offset + 1230)),
        ], gid_))  # fmt: skip
    return in_order(*plans)


@scenario("forwarding_change", rate=0.0, rule="forwarding_change", formats=("jsonl",),
          description="a phone forwarding itself to an Iridium number at 23:00 (feature "
          "code *21* in SIP, a config_change in the PBX log); near miss voicemail *97")  # fmt: skip
def forwarding_change(ctx: Context) -> Iterator[Plan]:
    """The SIP side is the feature-code call (*21*<target># as Asterisk and 3CX take it);
    the switch's log line is the ``config_change`` event, which only the JSONL has."""
    rng, labels = ctx.rng("forwarding_change"), ctx.labels
    target = "+881612345678"
    gid = labels.group("forwarding_change", "attack", "forwarding to a satellite number at night",
                       account=["3030"], a_number=["3030"], b_number=[target],
                       source_ip=["10.20.1.30"])  # fmt: skip
    nid = labels.group("forwarding_change", "near_miss", "voicemail feature code, no forwarding",
                       account=["3031"], a_number=["3031"], source_ip=["10.20.1.31"])  # fmt: skip
    late = _clock(ctx, 23.0)
    forward = call(rng, host("10.20.1.30", YEALINK, user="3030"), "3030", "*21*00881612345678#",
                   late, ring_s=0.2, talk_s=3.0)  # fmt: skip
    forward.detail["events"] = [{
        "timestamp": (late + NS) / NS, "event": "config_change", "a_number": "3030",
        "b_number": target, "setting": "call_forward_all", "target": target,
        "account": "3030", "source_ip": "10.20.1.30",
        "call_id": forward.detail.get("call_id"), "user_agent": YEALINK,
    }]  # fmt: skip
    voicemail = call(rng, host("10.20.1.31", YEALINK, user="3031"), "3031", "*97", at(late, 5),
                     ring_s=0.2, talk_s=20.0)  # fmt: skip
    return in_order(labelled([forward], gid), labelled([voicemail], nid))

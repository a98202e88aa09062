"""Attack scenarios on SIP itself: scans, scanner tools, enumeration, brute force, floods
and manipulated headers, each with its near misses (docs/simulate.md lists the numbers).

Thresholds are the issue's defaults (docs/rules.md): an attack is clearly above them, a
near miss just below or outside. Attackers come from RFC 5737 documentation addresses,
except where a rule needs a *public* source (header_anomaly), which comes from a real
public range whose country the bundled database knows.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Final

from calltrace.sim import sip
from calltrace.sim.dialog import MS, Endpoint, Ids, Plan, Request, contact
from calltrace.sim.engine import Context
from calltrace.sim.kit import VICTIM, at, host, in_order, labelled, request, spread
from calltrace.sim.scenarios import scenario

#: A spoofed but ordinary-looking product: not in the scanner signature list, so a scan
#: with it is a sip_scan and nothing else.
DISGUISE: Final = "Linphone/3.6.1 (belle-sip/1.2.4)"


def _sweep(
    rng: random.Random, src: Endpoint, start: int, targets: int, span_s: float
) -> list[Plan]:
    """OPTIONS to ``targets`` addresses of the site; only the PBX would answer."""
    out = []
    for i, t in enumerate(spread(start, targets, span_s)):
        dst = Endpoint(ip=f"10.20.9.{10 + i}", port=5060, mac=VICTIM.mac, agent=VICTIM.agent)
        out.append(request(rng, src, "OPTIONS", "100", t, dst=dst))
    return out


@scenario("sip_scan", rate=0.0, rule="sip_scan",
          description="one source sweeping 14 addresses in 40 s; near miss 9 in 30 s")  # fmt: skip
def sip_scan(ctx: Context) -> Iterator[Plan]:
    rng, labels = ctx.rng("sip_scan"), ctx.labels
    attacker, near = "203.0.113.210", "203.0.113.160"
    gid = labels.group("sip_scan", "attack", "OPTIONS sweep of 14 addresses in 40 s",
                       source_ip=[attacker])  # fmt: skip
    nid = labels.group("sip_scan", "near_miss", "9 addresses in 30 s (threshold 10 in 60 s)",
                       source_ip=[near])  # fmt: skip
    return in_order(
        labelled(_sweep(rng, host(attacker, DISGUISE), at(ctx.start, 5), 14, 40), gid),
        labelled(_sweep(rng, host(near, DISGUISE), at(ctx.start, 7), 9, 30), nid),
    )


@scenario("scanner_user_agent", rate=0.0, rule="scanner_user_agent",
          description="3 OPTIONS from 'friendly-scanner'; near miss a look-alike")  # fmt: skip
def scanner_user_agent(ctx: Context) -> Iterator[Plan]:
    rng, labels = ctx.rng("scanner_user_agent"), ctx.labels
    attacker, near = "203.0.113.211", "203.0.113.161"
    gid = labels.group("scanner_user_agent", "attack", "SIPVicious svmap's User-Agent",
                       source_ip=[attacker])  # fmt: skip
    nid = labels.group("scanner_user_agent", "near_miss",
                       "a product whose name resembles a scanner's ('friendly-phone')",
                       source_ip=[near])  # fmt: skip
    bad, good = host(attacker, "friendly-scanner"), host(near, "friendly-phone/1.0")
    return in_order(
        labelled((request(rng, bad, "OPTIONS", "100", t, status=200)
                  for t in spread(at(ctx.start, 4), 3, 2)), gid),
        labelled((request(rng, good, "OPTIONS", "100", t, status=200)
                  for t in spread(at(ctx.start, 6), 3, 2)), nid),
    )  # fmt: skip


@scenario("extension_enumeration", rate=0.0, rule="extension_enumeration", formats=("pcap",),
          description="REGISTER for 15 unknown users in 30 s (404); near miss 9 users")  # fmt: skip
def extension_enumeration(ctx: Context) -> Iterator[Plan]:
    rng, labels = ctx.rng("extension_enumeration"), ctx.labels
    attacker, near = "203.0.113.212", "203.0.113.162"
    gid = labels.group("extension_enumeration", "attack",
                       "svwar-style REGISTER for users 100-114, answered 404",
                       source_ip=[attacker])  # fmt: skip
    nid = labels.group("extension_enumeration", "near_miss",
                       "9 users in 60 s (threshold 10 in 60 s)", source_ip=[near])  # fmt: skip
    bad, good = host(attacker, DISGUISE), host(near, DISGUISE)
    return in_order(
        labelled((request(rng, bad, "REGISTER", str(100 + i), t, status=404)
                  for i, t in enumerate(spread(at(ctx.start, 3), 15, 30))), gid),
        labelled((request(rng, good, "REGISTER", str(500 + i), t, status=404)
                  for i, t in enumerate(spread(at(ctx.start, 4), 9, 55))), nid),
    )  # fmt: skip


def _guesses(rng: random.Random, src: Endpoint, user: str, start: int, wrong: int,
             then_ok: bool) -> Plan:  # fmt: skip
    """One REGISTER Call-ID: a 401 challenge, then ``wrong`` bad passwords answered 403
    (svcrack's pattern), then the right one if ``then_ok``; 2 s between guesses."""
    ids = Ids(rng)
    domain = VICTIM.domain or VICTIM.host
    aor, uri, realm = f"<sip:{user}@{domain}>", f"sip:{domain}", VICTIM.realm
    call_id, tag, nonce = ids.call_id(src), ids.tag(src), ids.nonce()
    plan = Plan(kind="register", outcome="registered" if then_ok else "failed")
    t = start
    for cseq in range(1, wrong + 2 + then_ok):
        creds: tuple[tuple[str, str], ...] = ()
        if cseq > 1:
            password = "s3cr3t" if then_ok and cseq == wrong + 2 else f"guess{cseq}"
            creds = (("Authorization", sip.credentials(
                username=user, realm=realm, password=password, method="REGISTER", uri=uri,
                nonce=nonce, cnonce=ids.nonce()[:16])),)  # fmt: skip
        req = Request(method="REGISTER", uri=uri, via=f"SIP/2.0/UDP {src.hostport};branch="
                      f"{ids.branch()};rport", from_=f"{aor};tag={tag}", to=aor,
                      call_id=call_id, cseq=cseq, contact=contact(src, user, "udp"),
                      extra=(*creds, ("Expires", "3600")))  # fmt: skip
        plan.send_request(t, src, VICTIM, req)
        status = 401 if cseq == 1 else 200 if then_ok and cseq == wrong + 2 else 403
        extra = (("WWW-Authenticate", sip.challenge(realm, nonce)),) if status == 401 else ()
        plan.send_response(t + 8 * MS, VICTIM, src, req, status, to_tag=ids.tag(VICTIM),
                           extra=extra)  # fmt: skip
        t = at(t, 2.0)
    plan.detail.update(call_id=call_id, user=user, start=start)
    return plan


@scenario("auth_bruteforce", rate=0.0, rule="auth_bruteforce",
          description="12 wrong passwords for a user in 24 s; near miss 4, then right")  # fmt: skip
def auth_bruteforce(ctx: Context) -> Iterator[Plan]:
    rng, labels = ctx.rng("auth_bruteforce"), ctx.labels
    attacker, near = "203.0.113.213", "203.0.113.163"
    gid = labels.group("auth_bruteforce", "attack", "svcrack-style guessing of user 3001",
                       source_ip=[attacker], account=["3001"], a_number=["3001"])  # fmt: skip
    nid = labels.group("auth_bruteforce", "near_miss",
                       "a user mistyping 4 times, then registering (threshold 5 in 10 min)",
                       source_ip=[near], account=["3002"], a_number=["3002"])  # fmt: skip
    return in_order(
        labelled([_guesses(rng, host(attacker, DISGUISE), "3001", at(ctx.start, 5), 12,
                           False)], gid),
        labelled([_guesses(rng, host(near, "Yealink SIP-T46S 66.86.0.15"), "3002",
                           at(ctx.start, 8), 4, True)], nid),
    )  # fmt: skip


@scenario("request_flood", rate=0.0, rule="request_flood",
          description="80 OPTIONS in 2 s from one source; near miss 25 in 2 s")  # fmt: skip
def request_flood(ctx: Context) -> Iterator[Plan]:
    rng, labels = ctx.rng("request_flood"), ctx.labels
    attacker, near = "203.0.113.214", "203.0.113.164"
    gid = labels.group("request_flood", "attack", "80 OPTIONS in 2 s (40/s)",
                       source_ip=[attacker])  # fmt: skip
    nid = labels.group("request_flood", "near_miss", "25 OPTIONS in 2 s (threshold 30 per 2 s)",
                       source_ip=[near])  # fmt: skip
    bad, good = host(attacker, DISGUISE), host(near, "Grandstream GXP2170 1.0.11.23")
    return in_order(
        labelled((request(rng, bad, "OPTIONS", "100", t, status=200)
                  for t in spread(at(ctx.start, 5), 80, 1.975)), gid),
        labelled((request(rng, good, "OPTIONS", "100", t, status=200)
                  for t in spread(at(ctx.start, 9), 25, 1.9)), nid),
    )  # fmt: skip


def _odd_invite(rng: random.Random, src: Endpoint, start: int, *, via_host: str,
                branch: str | None, max_forwards: int) -> Plan:  # fmt: skip
    """An INVITE whose Via and Max-Forwards say what the scenario wants, answered 403."""
    ids = Ids(rng)
    b = f"sip:+442079460{rng.randrange(100, 999)}@{VICTIM.domain}"
    branch = branch if branch is not None else ids.branch()
    req = Request(method="INVITE", uri=b, via=f"SIP/2.0/UDP {via_host}:5060;branch={branch}",
                  from_=f"<sip:2001@{via_host}>;tag={ids.tag(src)}", to=f"<{b}>",
                  call_id=ids.call_id(src), cseq=1, contact=contact(src, "2001", "udp"),
                  max_forwards=max_forwards)  # fmt: skip
    plan = Plan(kind="call", outcome="forbidden")
    plan.send_request(start, src, VICTIM, req)
    plan.send_response(start + 10 * MS, VICTIM, src, req, 403, to_tag=ids.tag(VICTIM))
    ack = Request(method="ACK", uri=b, via=req.via, from_=req.from_, to=req.to,
                  call_id=req.call_id, cseq=1, max_forwards=max_forwards)  # fmt: skip
    plan.send_request(start + 30 * MS, src, VICTIM, ack)
    plan.detail.update(call_id=req.call_id, start=start, hangup_by=None)
    return plan


@scenario("header_anomaly", rate=0.0, rule="header_anomaly", formats=("pcap",),
          description="INVITEs from a public address with a private Via, a branch without "
          "the magic cookie, Max-Forwards 0; near miss an ordinary LAN INVITE")  # fmt: skip
def header_anomaly(ctx: Context) -> Iterator[Plan]:
    rng, labels = ctx.rng("header_anomaly"), ctx.labels
    attacker, near = "185.53.178.9", "10.20.5.5"  # a public German address; a LAN phone
    gid = labels.group("header_anomaly", "attack",
                       "private Via from a public source, branch without z9hG4bK, "
                       "Max-Forwards 0", source_ip=[attacker])  # fmt: skip
    nid = labels.group("header_anomaly", "near_miss",
                       "a LAN phone: private Via from a private source, Max-Forwards 69",
                       source_ip=[near])  # fmt: skip
    bad, good = host(attacker, DISGUISE), host(near, "snom D785/10.1.141.13")
    t = at(ctx.start, 5)
    return in_order(labelled([
        _odd_invite(rng, bad, t, via_host="192.168.1.20", branch=None, max_forwards=70),
        _odd_invite(rng, bad, at(t, 2), via_host="192.168.1.20", branch="1a2b3c4d",
                    max_forwards=70),
        _odd_invite(rng, bad, at(t, 4), via_host="192.168.1.20", branch=None, max_forwards=0),
    ], gid), labelled([
        _odd_invite(rng, good, at(t, 1), via_host=near, branch=None, max_forwards=69),
    ], nid))  # fmt: skip

"""Registration and keep-alive flows (pure): REGISTER with digest, OPTIONS pings.

A REGISTER flow is one Call-ID (RFC 3261 §10.2.4: a UA reuses the Call-ID for its
refreshes): unauthenticated attempt, 401 with a nonce, the retry with Authorization,
then 200 (or 403 for a wrong password), then refreshes before expiry, some of which
are challenged again with a fresh nonce. OPTIONS is the usual trunk/phone qualify.
"""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass

from calltrace.sim import sip
from calltrace.sim.dialog import MS, NS, Endpoint, Ids, Plan, Request, contact, via


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterSpec:
    """A client registering ``user`` at ``registrar``; outcome "registered" or "failed"."""

    client: Endpoint
    registrar: Endpoint
    user: str
    start: int
    outcome: str = "registered"
    expires: int = 3600
    until: int = 0  # refresh until this time (ns); 0: no refresh
    transport: str = "udp"
    latency: int = 2 * MS


class _Registrar:
    """One REGISTER Call-ID in progress."""

    def __init__(self, rng: random.Random, spec: RegisterSpec) -> None:
        self.rng, self.spec, self.ids = rng, spec, Ids(rng)
        self.plan = Plan(kind="register", outcome=spec.outcome, transport=spec.transport)
        self.t = spec.start
        domain = spec.registrar.domain or spec.registrar.host
        self.aor = f"<sip:{spec.user}@{domain}>"
        self.uri = f"sip:{domain}"
        self.call_id = self.ids.call_id(spec.client)
        self.from_tag = self.ids.tag(spec.client)
        self.cseq = 0
        self.realm = spec.registrar.realm
        self.nonce = ""

    def hop(self) -> int:
        self.t += self.spec.latency + self.rng.randrange(300_000, 4 * MS)
        return self.t

    def register(self, auth: bool, expires: int) -> Request:
        spec = self.spec
        self.cseq += 1
        extra: list[tuple[str, str]] = []
        if auth:
            extra.append((
                "Authorization",
                sip.credentials(
                    username=spec.user, realm=self.realm, password="wrong" if
                    spec.outcome == "failed" else "s3cr3t", method="REGISTER", uri=self.uri,
                    nonce=self.nonce, cnonce=self.ids.nonce()[:16],
                ),
            ))  # fmt: skip
        extra.append(("Expires", str(expires)))
        extra.append(("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY, REFER"))
        req = Request(
            method="REGISTER", uri=self.uri,
            via=via(spec.client, spec.transport, self.ids.branch()),
            from_=f"{self.aor};tag={self.from_tag}", to=self.aor, call_id=self.call_id,
            cseq=self.cseq, contact=contact(spec.client, spec.user, spec.transport), extra=extra,
        )  # fmt: skip
        self.plan.send_request(self.t, spec.client, spec.registrar, req)
        return req

    def challenge(self, req: Request) -> None:
        self.nonce = self.ids.nonce()
        self.plan.send_response(
            self.hop(), self.spec.registrar, self.spec.client, req, 401,
            to_tag=self.ids.tag(self.spec.registrar),
            extra=(("WWW-Authenticate", sip.challenge(self.realm, self.nonce)),),
        )  # fmt: skip

    def final(self, req: Request, status: int) -> None:
        spec = self.spec
        extra: list[tuple[str, str]] = []
        if status == 200:
            bound = f"{contact(spec.client, spec.user, spec.transport)};expires={spec.expires}"
            extra.append(("Contact", bound))
            extra.append(("Date", email.utils.formatdate(self.t / NS, usegmt=True)))
        self.plan.send_response(
            self.hop(), spec.registrar, spec.client, req, status,
            to_tag=self.ids.tag(spec.registrar), extra=extra,
        )  # fmt: skip
        self.t += int(self.rng.uniform(1, 20) * MS)


def plan_register(rng: random.Random, spec: RegisterSpec) -> Plan:
    """Initial registration with its challenge, then refreshes until ``spec.until``."""
    reg = _Registrar(rng, spec)
    first = reg.register(auth=False, expires=spec.expires)
    reg.challenge(first)
    reg.t += int(rng.uniform(5, 60) * MS)
    retry = reg.register(auth=True, expires=spec.expires)
    if spec.outcome == "failed":
        reg.final(retry, 403)
        return _done(reg)
    reg.final(retry, 200)
    refresh_ns = int(spec.expires * rng.uniform(0.45, 0.55) * NS)
    while reg.t + refresh_ns < spec.until:
        reg.t += refresh_ns
        req = reg.register(auth=True, expires=spec.expires)
        if rng.random() < 0.5:  # nonce went stale: challenged again
            reg.challenge(req)
            reg.t += int(rng.uniform(5, 60) * MS)
            req = reg.register(auth=True, expires=spec.expires)
        reg.final(req, 200)
    return _done(reg)


def _done(reg: _Registrar) -> Plan:
    reg.plan.detail.update(
        call_id=reg.call_id, user=reg.spec.user, outcome=reg.spec.outcome, start=reg.spec.start,
        attempts=reg.plan.requests["REGISTER"],
    )  # fmt: skip
    return reg.plan


def plan_options(
    rng: random.Random,
    client: Endpoint,
    server: Endpoint,
    start: int,
    *,
    transport: str = "udp",
    latency: int = 2 * MS,
) -> Plan:
    """One OPTIONS ping and its 200 (RFC 3261 §11), as PBX qualify and SBC trunks send."""
    ids = Ids(rng)
    plan = Plan(kind="options", outcome="ok", transport=transport)
    user = client.user or "ping"
    req = Request(
        method="OPTIONS", uri=f"sip:{server.hostport}", via=via(client, transport, ids.branch()),
        from_=f"<sip:{user}@{client.host}>;tag={ids.tag(client)}", to=f"<sip:{server.hostport}>",
        call_id=ids.call_id(client), cseq=rng.randrange(1, 500),
        contact=contact(client, user, transport), extra=(("Accept", "application/sdp"),),
    )  # fmt: skip
    plan.send_request(start, client, server, req)
    answer_at = start + latency + rng.randrange(300_000, 3 * MS)
    plan.send_response(
        answer_at, server, client, req, 200, to_tag=ids.tag(server),
        extra=(
            ("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY, REFER, UPDATE"),
            ("Accept", "application/sdp"),
            ("Supported", "replaces, timer"),
        ),
    )  # fmt: skip
    return plan

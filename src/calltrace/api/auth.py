"""Who is asking, and may they: API keys, roles, rate limits.

A key comes as ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``; only its SHA-256 is
looked up (calltrace.store.keys says why that is enough). Roles are ordered: ``viewer``
reads, ``analyst`` also ingests events and triages alerts, ``admin`` also changes the
configuration. A route states its role with ``Depends(require("analyst"))``.

Lookups are cached ``KEY_CACHE_SECONDS`` (hits and misses alike) so a request costs no SQL;
a key revoked with ``calltrace keys revoke`` therefore stops working within that time.

Rate limits: a token bucket per key (``rate_limit`` requests a second, bursts of
``rate_burst``); a request that finds the bucket empty gets 429 with ``Retry-After``
(whole seconds, rounded up). A batch is one request.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from calltrace.api.errors import ApiError
from calltrace.store.keys import ROLES, find_key, hash_key

KEY_CACHE_SECONDS = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """The caller: a key's id, name and role."""

    key_id: int
    name: str
    role: str

    @property
    def actor(self) -> str:
        """How audit records name the caller."""
        return f"key:{self.key_id}:{self.name}"


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` stored; one request takes one.

    >>> bucket = TokenBucket(rate=1.0, burst=2, now=0.0)
    >>> bucket.take(0.0), bucket.take(0.0), bucket.take(0.0), bucket.take(1.0)
    (0.0, 0.0, 1.0, 0.0)
    """

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, *, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = now

    def take(self, now: float) -> float:
        """Take a token: 0.0 when granted, else the seconds until one is there."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class Gate:
    """Key lookup with its cache, and the buckets (one per key)."""

    def __init__(self, store: Any, *, rate: float, burst: int) -> None:
        self.store = store
        self.rate = rate
        self.burst = burst
        self._cache: dict[str, tuple[Principal | None, float]] = {}
        self._buckets: dict[int, TokenBucket] = {}

    async def principal(self, key: str) -> Principal | None:
        digest = hash_key(key)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        row = await run_in_threadpool(self.store.read, lambda conn: find_key(conn, digest))
        found = None if row is None else Principal(key_id=row["id"], name=row["name"],
                                                   role=row["role"])  # fmt: skip
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[digest] = (found, now + KEY_CACHE_SECONDS)
        return found

    def throttle(self, principal: Principal) -> None:
        """429 when the key's bucket is empty."""
        if self.rate <= 0:
            return
        now = time.monotonic()
        bucket = self._buckets.get(principal.key_id)
        if bucket is None:
            bucket = self._buckets[principal.key_id] = TokenBucket(
                rate=self.rate, burst=self.burst, now=now
            )
        wait = bucket.take(now)
        if wait > 0:
            raise ApiError(
                429,
                "rate_limited",
                f"rate limit of {self.rate:g} requests/s exceeded",
                {"limit": self.rate, "burst": self.burst, "retry_after": wait},
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )


def presented_key(request: Request) -> str | None:
    """The key of ``Authorization: Bearer`` or ``X-API-Key``, if any."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return request.headers.get("x-api-key") or None


async def authenticate(request: Request) -> Principal:
    """The caller's principal, or 401."""
    key = presented_key(request)
    if key is None:
        raise ApiError(
            401,
            "unauthorized",
            "an API key is required (Authorization: Bearer KEY or X-API-Key: KEY)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    gate: Gate = request.app.state.gate
    principal = await gate.principal(key)
    if principal is None:
        raise ApiError(
            401,
            "unauthorized",
            "unknown or revoked API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def require(role: str) -> Any:
    """A dependency: the caller must hold ``role`` or a higher one; rate-limited."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    async def dependency(
        request: Request, principal: Annotated[Principal, Depends(authenticate)]
    ) -> Principal:
        return require_role(request, principal, role)

    return Depends(dependency)


def require_role(request: Request, principal: Principal, role: str) -> Principal:
    """403 unless ``principal`` holds ``role`` or a higher one; then the rate limit."""
    if ROLES.index(principal.role) < ROLES.index(role):
        raise ApiError(
            403,
            "forbidden",
            f"this needs the {role} role; the key {principal.name!r} is {principal.role}",
        )
    request.app.state.gate.throttle(principal)
    return principal


#: Route parameters: ``_: Viewer`` (reads), ``who: Analyst`` (ingest, triage),
#: ``who: Admin`` (configuration).
Viewer = Annotated[Principal, require("viewer")]
Analyst = Annotated[Principal, require("analyst")]
Admin = Annotated[Principal, require("admin")]

"""Sending one alert to one target, once: the I/O half of notify/ (the retries are the
notifier's).

Where apprise is used and where not:

- **e-mail** and **apprise** (any of apprise's 100+ services by its URL) go through
  apprise: it knows SMTP submission, STARTTLS/SSL, authentication and MIME, and the
  providers' presets.
- **webhook, Slack, Teams, Webex** are a JSON POST to the URL the user copied from the
  service (render.py builds the bodies), sent with httpx. Not apprise, because its Slack
  and Webex plugins talk only to the vendors' fixed hosts (hooks.slack.com,
  webexapis.com), so a proxy, a self-hosted gateway or a loopback test receiver cannot be
  the URL; its generic ``json://`` wraps the body in its own envelope instead of sending
  the alert as the JSON document lists it; and it answers only true/false, while the
  retry policy needs the HTTP status (a 400 will never succeed, a 503 may).

A failed attempt raises :class:`DeliveryError`; ``retryable`` says whether another
attempt can help: network errors, timeouts, 408, 429 and 5xx can; other 4xx cannot.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote, urlencode

import httpx

from calltrace.errors import CallTraceError
from calltrace.model import Alert
from calltrace.notify import render
from calltrace.notify.config import HTTP_KINDS, TargetConfig

#: HTTP statuses worth another attempt (RFC 9110 §15.5.9 408, RFC 6585 §4 429, and 5xx).
RETRY_STATUSES = frozenset({408, 429})


class DeliveryError(CallTraceError):
    """One attempt failed; ``retryable`` when a later attempt may succeed."""

    def __init__(self, detail: str, *, retryable: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retryable = retryable


class Target(Protocol):
    """Something that sends an alert once (raising DeliveryError) and can be closed."""

    config: TargetConfig

    async def send(self, alert: Alert) -> None: ...

    async def aclose(self) -> None: ...


class HttpTarget:
    """webhook, Slack, Teams, Webex: POST the kind's JSON body to ``config.url``."""

    def __init__(self, config: TargetConfig) -> None:
        self.config = config
        self._payload = render.PAYLOADS[config.kind]
        self._client: httpx.AsyncClient | None = None

    async def send(self, alert: Alert) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.config.timeout,
                headers={"User-Agent": "CallTrace-notify"},
            )
        assert self.config.url is not None
        try:
            response = await self._client.post(self.config.url, json=self._payload(alert))
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True) from None
        status = response.status_code
        if status >= 300:
            retryable = status >= 500 or status in RETRY_STATUSES
            raise DeliveryError(f"HTTP {status}", retryable=retryable)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class AppriseTarget:
    """Any apprise URL (``mailto://``, ``tgram://``, ...): apprise sends, we retry."""

    def __init__(self, config: TargetConfig, url: str | None = None) -> None:
        import apprise  # imported here: only configurations that use it pay for it

        self.config = config
        self._apprise = apprise.Apprise()
        if not self._apprise.add(url or config.url or ""):
            raise DeliveryError(f"{config.name}: apprise does not accept the URL", retryable=False)
        for plugin in self._apprise:
            # apprise waits 5.5 s between two requests of one plugin; the notifier paces
            # attempts itself (backoff), so a retry must not wait twice
            plugin.request_rate_per_sec = 0

    async def send(self, alert: Alert) -> None:
        ok = await self._apprise.async_notify(title=render.subject(alert), body=render.text(alert))
        if not ok:
            # apprise logs the cause and answers only true/false: assume it may pass later
            raise DeliveryError("apprise could not deliver", retryable=True)

    async def aclose(self) -> None:
        return None


def email_url(config: TargetConfig) -> str:
    """The apprise ``mailto://`` URL of an e-mail target (apprise's e-mail plugin
    parameters: ``smtp`` server, ``from``, ``to``, ``mode`` = starttls|ssl|insecure).

    >>> from calltrace.notify.config import TargetConfig
    >>> email_url(TargetConfig(kind="email", name="e", addresses=("a@x.org",),
    ...                        smtp="127.0.0.1:8025", security="insecure"))
    'mailto://127.0.0.1:8025?smtp=127.0.0.1&from=calltrace%40localhost&to=a%40x.org&mode=insecure'
    """
    host, _, port = config.smtp.partition(":")
    auth = ""
    if config.username:
        auth = quote(config.username, safe="") + ":" + quote(config.password or "", safe="") + "@"
    netloc = f"{auth}{host}" + (f":{port}" if port else "")
    query = urlencode(
        {
            "smtp": host,
            "from": config.sender,
            "to": ",".join(config.addresses),
            "mode": config.security,
        }
    )
    return f"mailto://{netloc}?{query}"


def make_target(config: TargetConfig) -> Target:
    """The sender for a configured target."""
    if config.kind in HTTP_KINDS:
        return HttpTarget(config)
    if config.kind == "email":
        return AppriseTarget(config, email_url(config))
    return AppriseTarget(config)

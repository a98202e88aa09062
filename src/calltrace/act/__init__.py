"""Acting on calls: ending the calls of an alert on the switch that carries them.

``kamailio`` ends dialogs through Kamailio's JSON-RPC (dialog module), ``esl`` ends
FreeSWITCH channels through the Event Socket (and turns its channel events into call
events). Both answer :class:`EndResult`; :func:`calls_to_end` says which calls an alert
asks to end (docs/outputs.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from calltrace.errors import CallTraceError
from calltrace.model import Alert

#: Rules whose alerts end their calls when auto-disconnect is on (issue 5: masking only;
#: a scan or a brute force has no call to end).
DISCONNECT_RULES = frozenset({"multicall_masking"})


class ActError(CallTraceError):
    """A switch could not be asked, or refused (RpcError, EslError); ``detail`` says why."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True, slots=True, kw_only=True)
class EndResult:
    """What became of each call asked to be ended."""

    ended: tuple[str, ...] = ()
    not_found: tuple[str, ...] = ()  # the switch has no such call (already over, or not its)
    failed: dict[str, str] = field(default_factory=dict)  # call id -> why


def calls_to_end(alert: Alert) -> tuple[str, ...]:
    """The call ids an alert asks to end: its ``call_ids`` then any ``call_id`` of its
    evidence's ``calls``, each once, in order; none for a rule not in DISCONNECT_RULES.

    >>> from calltrace.model import Alert
    >>> a = Alert(id="x", rule="multicall_masking", severity="high", score=60, title="t",
    ...           entity_type="b_number", entity="+1555", first_seen=0.0, last_seen=1.0,
    ...           call_ids=("c1", "c2"), evidence={"calls": [{"call_id": "c2"},
    ...           {"call_id": "c3"}, {"a_number": "+1"}]})
    >>> calls_to_end(a)
    ('c1', 'c2', 'c3')
    """
    if alert.rule not in DISCONNECT_RULES:
        return ()
    ids = list(alert.call_ids)
    calls = alert.evidence.get("calls", ())
    if isinstance(calls, list | tuple):
        ids.extend(c["call_id"] for c in calls if isinstance(c, dict) and c.get("call_id"))
    return tuple(dict.fromkeys(ids))


class CallEnder(Protocol):
    """A switch client that ends calls by id (KamailioClient, EslClient)."""

    async def end_calls(self, call_ids: Iterable[str]) -> EndResult: ...


async def act_on_alert(alert: Alert, ender: CallEnder) -> EndResult | None:
    """End the calls of ``alert`` (auto-disconnect); None when its rule ends no calls or
    it names none. Never raises for a call the switch cannot end: see EndResult."""
    call_ids = calls_to_end(alert)
    if not call_ids:
        return None
    return await ender.end_calls(call_ids)


async def end_each(call_ids: Iterable[str], end_one: Callable[[str], Awaitable[bool]]) -> EndResult:
    """Run ``end_one`` (True: ended, False: no such call) on each call id in turn; an
    ActError fails that call only. The one loop behind every client's ``end_calls``."""
    ended: list[str] = []
    not_found: list[str] = []
    failed: dict[str, str] = {}
    for call_id in call_ids:
        try:
            (ended if await end_one(call_id) else not_found).append(call_id)
        except ActError as exc:
            failed[call_id] = exc.detail
    return EndResult(ended=tuple(ended), not_found=tuple(not_found), failed=failed)

"""End calls through Kamailio's JSON-RPC: the dialog module's ``dlg.end_dlg``.

Transport: JSON-RPC 2.0 over HTTP, i.e. the ``jsonrpcs`` module with ``xhttp``
(``event_route[xhttp:request] { jsonrpc_dispatch(); }``), at a URL such as
``http://10.0.0.5:5071/RPC``. Chosen over the FIFO and the datagram socket because it
works from another host (CallTrace rarely runs on the SIP proxy) and needs no shared
filesystem; restrict it to CallTrace's address in the Kamailio config (the RPC can end
any call). tests/integration/proxy.cfg is a complete, minimal example.

How a call is ended (Kamailio dialog module documentation, RPC commands):

1. ``dlg.dlg_list <callid>`` lists the dialogs of one Call-ID (``{}`` when none) with
   their ``h_entry``/``h_id``, the dialog's hash-table coordinates;
2. ``dlg.end_dlg <h_entry> <h_id>`` makes Kamailio send a BYE to both parties and
   destroy the dialog (JSON-RPC error 404 "Dialog not found" when it is already gone).

>>> rpc_request("dlg.end_dlg", 20, 11070, id=7)
{'jsonrpc': '2.0', 'method': 'dlg.end_dlg', 'params': [20, 11070], 'id': 7}
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from calltrace.act import ActError, EndResult, end_each

#: The dialog module's "Dialog not found" (dlg.end_dlg on an ended dialog).
NOT_FOUND = 404


class RpcError(ActError):
    """Kamailio answered a JSON-RPC error object, or could not be reached/understood."""

    def __init__(self, detail: str, *, code: int | None = None) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True, slots=True, kw_only=True)
class Dialog:
    """One dialog as dlg.list shows it (the fields CallTrace uses)."""

    h_entry: int
    h_id: int
    call_id: str
    from_uri: str | None = None
    to_uri: str | None = None
    state: int | None = None  # 1 unconfirmed, 2 early, 3 confirmed, 4 confirmed+ACK, 5 deleted
    start_ts: int | None = None


def rpc_request(method: str, *params: Any, id: int) -> dict[str, Any]:
    """A JSON-RPC 2.0 request object."""
    request: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params:
        request["params"] = list(params)
    request["id"] = id
    return request


def parse_dialogs(result: Any) -> list[Dialog]:
    """Dialogs of a dlg.list / dlg.dlg_list result: a list, one object, or ``{}`` (none).

    >>> parse_dialogs({})
    []
    >>> parse_dialogs({"h_entry": 1, "h_id": 2, "call-id": "a@b", "state": 4})[0].call_id
    'a@b'
    """
    items = result if isinstance(result, list) else [result]
    dialogs = []
    for item in items:
        if not isinstance(item, dict) or "h_entry" not in item:
            continue
        dialogs.append(
            Dialog(
                h_entry=int(item["h_entry"]),
                h_id=int(item["h_id"]),
                call_id=str(item.get("call-id", "")),
                from_uri=item.get("from_uri"),
                to_uri=item.get("to_uri"),
                state=item.get("state"),
                start_ts=item.get("start_ts"),
            )
        )
    return dialogs


class KamailioClient:
    """A JSON-RPC client for one Kamailio (``url`` of its jsonrpcs HTTP endpoint)."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self._client = httpx.AsyncClient(timeout=timeout)
        self._ids = itertools.count(1)

    async def call(self, method: str, *params: Any) -> Any:
        """Run one RPC command; its ``result``, or RpcError."""
        request = rpc_request(method, *params, id=next(self._ids))
        try:
            response = await self._client.post(self.url, json=request)
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RpcError(f"{method}: {type(exc).__name__}: {exc}") from None
        if not isinstance(answer, dict):
            raise RpcError(f"{method}: not a JSON-RPC answer")
        if "error" in answer:
            error = answer["error"] if isinstance(answer["error"], dict) else {}
            code = error.get("code")
            raise RpcError(f"{method}: {error.get('message', 'error')}", code=code)
        return answer.get("result")

    async def dialogs(self) -> list[Dialog]:
        """Every dialog Kamailio holds (``dlg.list``)."""
        return parse_dialogs(await self.call("dlg.list"))

    async def find(self, call_id: str) -> list[Dialog]:
        """The dialogs of one Call-ID (``dlg.dlg_list``)."""
        return parse_dialogs(await self.call("dlg.dlg_list", call_id))

    async def end_dialog(self, dialog: Dialog) -> bool:
        """BYE both parties of ``dialog``; False when Kamailio no longer has it."""
        try:
            await self.call("dlg.end_dlg", dialog.h_entry, dialog.h_id)
        except RpcError as exc:
            if exc.code == NOT_FOUND:
                return False
            raise
        return True

    async def end_calls(self, call_ids: Iterable[str]) -> EndResult:
        """End every dialog of each Call-ID; one result per Call-ID, never raising."""
        return await end_each(call_ids, self._end_call)

    async def _end_call(self, call_id: str) -> bool:
        done = [await self.end_dialog(d) for d in await self.find(call_id)]
        return any(done)

    async def aclose(self) -> None:
        await self._client.aclose()

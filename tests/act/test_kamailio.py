"""Ending calls on a real Kamailio (dialog + jsonrpcs over xhttp) with SIPp placing them.

SIPp's caller (sipp_uac_wait_bye.xml) places three calls through the proxy to SIPp's
uas and never hangs up; the client finds each dialog by Call-ID and ends it; the calls
really end: the caller received a BYE for each (sipp exits 0 only then) and Kamailio
holds no dialog any more.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from calltrace.act import calls_to_end
from calltrace.act.kamailio import KamailioClient
from calltrace.model import Alert
from tests.integration import peers

RPC_URL = f"http://{peers.PROXY}:{peers.RPC_PORT}/RPC"


async def _until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("condition not met")


def masking_alert(call_ids: list[str]) -> Alert:
    """A multicall_masking alert naming the calls (two in call_ids, all in the evidence)."""
    return Alert(id="a1", rule="multicall_masking", severity="high", score=60, title="t",
                 entity_type="b_number", entity="5550999", first_seen=0.0, last_seen=1.0,
                 call_ids=tuple(call_ids[:2]),
                 evidence={"calls": [{"call_id": c} for c in call_ids]})  # fmt: skip


@pytest.mark.skipif(peers.missing_switch() is not None, reason=str(peers.missing_switch()))
def test_the_calls_of_a_masking_alert_really_end(tmp_path: Path) -> None:
    """Three dialogs found by Call-ID are ended: the caller gets BYEs, dlg.list empties."""
    with peers.proxy(tmp_path), peers.callee():
        caller = peers.place_calls(tmp_path, 3, "5550999")
        # SIPp's [call_id] is "<call number>-<pid>@<local ip>" (SIPp reference, keywords)
        call_ids = [f"{n}-{caller.pid}@{peers.CALLER}" for n in (1, 2, 3)]

        async def scenario() -> None:
            client = KamailioClient(RPC_URL)

            async def confirmed() -> bool:
                dialogs = await client.dialogs()
                return sorted(d.call_id for d in dialogs if d.state == 4) == call_ids

            await _until(confirmed)
            (found,) = await client.find(call_ids[0])
            assert (
                found.call_id == call_ids[0]
                and found.to_uri == f"sip:5550999@{peers.PROXY}:{peers.PROXY_PORT}"
            )
            asked = [*calls_to_end(masking_alert(call_ids)), "not-a-call@nowhere"]
            result = await client.end_calls(asked)
            assert result.ended == tuple(call_ids)
            assert result.not_found == ("not-a-call@nowhere",) and result.failed == {}

            async def empty() -> bool:
                return await client.dialogs() == []

            await _until(empty)
            again = await client.end_calls(call_ids[:1])
            assert again.not_found == (call_ids[0],)
            await client.aclose()

        try:
            asyncio.run(scenario())
            assert caller.wait(timeout=20) == 0  # every call got its BYE from the network
        finally:
            if caller.poll() is None:
                caller.kill()
    trace = (tmp_path / "caller.msg").read_text(errors="replace")
    received_byes = [
        part for part in trace.split("----------------------------------------------- ")
        if "message received" in part and "\nBYE sip:" in part
    ]  # fmt: skip
    assert len(received_byes) == 3


def test_an_unreachable_kamailio_fails_each_call_without_raising() -> None:
    """Nothing listens at the RPC URL: every call id is listed as failed, with the reason."""

    async def scenario() -> None:
        client = KamailioClient("http://127.0.0.1:9/RPC", timeout=2.0)
        result = await client.end_calls(["a", "b"])
        await client.aclose()
        assert result.ended == () and set(result.failed) == {"a", "b"}
        assert "ConnectError" in result.failed["a"]

    asyncio.run(scenario())

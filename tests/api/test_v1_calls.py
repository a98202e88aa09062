"""The REST API's call side (/api/v1: calls, one call, ladder, pcap, addresses, search)
on a store filled by analysing the bundled sample and a corpus capture, on SQLite and
PostgreSQL. Expected values come from the sample's generator truth
(calltrace/data/sample.truth.json) and from tshark on the corpus file."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from calltrace.cli import _run
from calltrace.config import Config
from calltrace.store.db import open_engine
from calltrace.store.writer import StoreSink
from tests.api.conftest import Api, start_api
from tests.conftest import corpus_dir, postgres_database

DATA = Path(__file__).resolve().parents[2] / "src" / "calltrace" / "data"
TRUTH = json.loads((DATA / "sample.truth.json").read_text())
TRUTH_CALLS = [f for f in TRUTH["flows"] if f["kind"] == "call"]
HEPLIFY = "pcap/heplify/rtp_rtcp_sip_ipv4_udp.pcap"
CALL = "12013223@200.57.7.195"  # INVITE 100 180 200 ACK (tshark: frames 1 2 3 498 517)


def fill(db: str) -> None:
    """Analyse the sample (capture 1) and the heplify capture (capture 2), one run each."""
    engine = open_engine(db)
    for path in (DATA / "sample.pcap", corpus_dir() / HEPLIFY):
        sink = StoreSink(engine)
        _run([path], sink, keep_results=False, heuristic_rtp=False, config=Config())
        sink.close()
    engine.dispose()


@pytest.fixture(scope="module")
def _filled_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("v1") / "filled.db"
    fill(str(path))
    return path


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def v1(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The app on a filled store (read only: every test here shares it)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("v1db") / "api.db"
        shutil.copy(request.getfixturevalue("_filled_sqlite"), path)
        yield from start_api(str(path), rate_limit=0.0)
        return
    with postgres_database("ct_v1") as url:
        fill(url)
        yield from start_api(url, rate_limit=0.0)


def walk(api: Api, path: str) -> list[dict[str, Any]]:
    """Every row of a paged answer, following ``next`` to the last page."""
    rows: list[dict[str, Any]] = []
    url: str | None = path
    while url is not None:
        answer = api.get(url)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        key = "calls" if "calls" in body else "results"
        assert body["count"] == len(body[key]) <= body["limit"]
        rows += body[key]
        url = body["next"]
    return rows


def truth_ids(**match: Any) -> set[str]:
    return {f["call_id"] for f in TRUTH_CALLS if all(f[k] == v for k, v in match.items())}


def test_walking_every_page_gives_every_call_once(v1: Api) -> None:
    """Pages of 7 walk the calls of the sample (its truth file) and the 2 of the capture,
    each once, by start time."""
    calls = walk(v1, "/api/v1/calls?limit=7")
    ids = [(c["capture_id"], c["call_id"]) for c in calls]
    assert len(ids) == len(set(ids)) == len(TRUTH_CALLS) + 2
    assert {cid for cap, cid in ids if cap == 1} == truth_ids()
    assert {cid for cap, cid in ids if cap == 2} == {CALL, "12015624@200.57.7.195"}
    starts = [c["start"] for c in calls]
    assert starts == sorted(starts)


def test_filters_match_the_generator_truth(v1: Api) -> None:
    """state, number (normalised, caller or callee), ip and since/until select the calls
    the sample's truth says."""
    base = "/api/v1/calls?capture=1&limit=1000"

    def ids(query: str) -> set[str]:
        return {c["call_id"] for c in walk(v1, f"{base}&{query}")}

    assert ids("state=completed") == truth_ids(state="completed")
    assert len(truth_ids(state="completed")) == 32
    number = {f["call_id"] for f in TRUTH_CALLS if "1212" in f["caller"] + "|" + f["callee"]}
    assert number and ids("number=%2B1%20(212)") == number
    ip = "10.20.1.47"
    by_ip = {
        f["call_id"] for f in TRUTH_CALLS if ip in (f["src"].split(":")[0], f["dst"].split(":")[0])
    }
    assert by_ip and ids(f"ip={ip}") == by_ip
    starts = sorted(f["start"] for f in TRUTH_CALLS)
    middle = (starts[19] + starts[20]) / 2  # between two calls: capture time rounding aside
    later = {f["call_id"] for f in TRUTH_CALLS if f["start"] >= middle}
    assert ids(f"since={middle!r}") == later
    iso_until = "2026-01-05T09:02:00Z"  # 1767603720
    assert ids(f"until={iso_until}") == {
        f["call_id"] for f in TRUTH_CALLS if f["start"] < 1767603720
    }


def test_capture_and_ip_filters_on_the_corpus_capture(v1: Api) -> None:
    """The heplify capture's two calls both involve 200.57.7.204 (tshark), none 200.57.7.205."""
    assert {c["call_id"] for c in walk(v1, "/api/v1/calls?ip=200.57.7.204")} == {
        CALL, "12015624@200.57.7.195"}  # fmt: skip
    assert walk(v1, "/api/v1/calls?ip=200.57.7.205") == []


def test_rule_filter_lists_the_calls_its_alerts_name(v1: Api) -> None:
    """Every call of ?rule=wangiri (the sample's wangiri burst) has a wangiri alert naming
    it, and every Call-ID such an alert names is listed."""
    calls = walk(v1, "/api/v1/calls?rule=wangiri")
    assert calls
    named: set[str] = set()
    for call in calls:
        detail = v1.get(f"/api/v1/calls/{call['call_id']}?capture={call['capture_id']}").json()
        rules = {a["rule"] for a in detail["alerts"]}
        assert "wangiri" in rules
        named |= {cid for a in detail["alerts"] if a["rule"] == "wangiri" for cid in a["call_ids"]}
    assert named == {c["call_id"] for c in calls}
    assert walk(v1, "/api/v1/calls?rule=no_such_rule") == []


def test_one_call_has_its_messages_media_and_enrichment(v1: Api) -> None:
    """The corpus call has tshark's 5 messages in order, its 2 RTP streams (891 and 548
    packets, per the corpus manifest), and the enrichment of its caller's address."""
    body = v1.get(f"/api/v1/calls/{CALL}").json()
    assert body["call"]["call_id"] == CALL and body["call"]["capture_id"] == 2
    steps = [
        (m["packet"], m["method"] if m["is_request"] else m["status"]) for m in body["messages"]
    ]
    assert steps == [(1, "INVITE"), (2, 100), (3, 180), (498, 200), (517, "ACK")]
    assert body["messages"][0]["raw"].startswith("INVITE sip:francisco@bestel.com:55060 SIP/2.0")
    assert sorted(s["packets"] for s in body["rtp_streams"]) == [548, 891]
    assert body["enrichment"]["src_ip"]["scope"] == "public"
    assert body["occurrences"] == [{"capture_id": 2, "start": body["call"]["start"]}]


def test_call_message_count_equals_tsharks(v1: Api, tshark: str) -> None:
    """For every Call-ID of the capture that is a call, the API's messages are tshark's."""
    file = corpus_dir() / HEPLIFY
    for call_id in (CALL, "12015624@200.57.7.195"):
        out = subprocess.run(
            [tshark, "-r", str(file), "-Y", f'sip.Call-ID == "{call_id}"', "-T", "fields",
             "-e", "frame.number"], capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        body = v1.get(f"/api/v1/calls/{call_id}").json()
        assert [m["packet"] for m in body["messages"]] == [int(n) for n in out]
        assert body["call"]["messages"] == len(out)


def test_pcap_reads_back_with_tshark_as_the_same_messages(
    v1: Api, tshark: str, tmp_path: Path
) -> None:
    """The exported pcap holds the call's SIP messages: same Call-ID, methods and
    statuses, in order, as tshark reads them from the original capture."""
    answer = v1.get(f"/api/v1/calls/{CALL}/pcap")
    assert answer.headers["content-type"] == "application/vnd.tcpdump.pcap"
    assert 'filename="call-12013223_200.57.7.195.pcap"' in answer.headers["content-disposition"]
    exported = tmp_path / "call.pcap"
    exported.write_bytes(answer.content)

    def sip(path: Path, *filter_: str) -> list[str]:
        fields = ["-T", "fields", "-e", "sip.Call-ID", "-e", "sip.Method", "-e", "sip.Status-Code"]
        run = subprocess.run([tshark, "-r", str(path), *filter_, *fields],
                             capture_output=True, text=True, check=True)  # fmt: skip
        return run.stdout.splitlines()

    original = sip(corpus_dir() / HEPLIFY, "-Y", f'sip.Call-ID == "{CALL}"')
    assert len(original) == 5
    assert sip(exported, "-Y", "sip") == original


def test_ladder_svg_has_a_row_per_message(v1: Api) -> None:
    """The ladder is SVG with the call's two endpoints and its five labels."""
    answer = v1.get(f"/api/v1/calls/{CALL}/ladder.svg")
    assert answer.headers["content-type"].startswith("image/svg+xml")
    text = answer.text
    assert text.startswith("<svg") and "200.57.7.195:5060" in text and "200.57.7.204:5061" in text
    for label in ("INVITE", "100 Trying", "180 Ringing", "200 Ok", "ACK"):
        assert f">{label}<" in text, label


def test_unknown_call_and_capture_are_404(v1: Api) -> None:
    """An unknown Call-ID, or a known one in another capture, is a 404 in the one shape."""
    for path in ("/api/v1/calls/nope", f"/api/v1/calls/{CALL}?capture=1",
                 "/api/v1/calls/nope/ladder.svg", "/api/v1/calls/nope/pcap"):  # fmt: skip
        answer = v1.get(path)
        assert answer.status_code == 404, path
        assert answer.json()["error"]["code"] == "not_found"


def test_ip_activity_counts_tsharks_messages(v1: Api) -> None:
    """200.57.7.195 sent 6 messages (INVITE x2, ACK, 200 x3) and received 8 (100 x2,
    180 x2, 200, REGISTER x3), tshark's count; it is in both calls; it is public."""
    body = v1.get("/api/v1/ips/200.57.7.195").json()
    assert body["messages"]["sent"] == {
        "total": 6, "requests": {"INVITE": 2, "ACK": 1}, "responses": {"200": 3}}  # fmt: skip
    assert body["messages"]["received"] == {
        "total": 8, "requests": {"REGISTER": 3},
        "responses": {"100": 2, "180": 2, "200": 1}}  # fmt: skip
    assert body["calls"]["count"] == 2
    # Verso's two REGISTERs 20 s apart (frames 152, 2911: a refresh cycle each,
    # docs/call-states.md) and bestel's one (frame 1724)
    assert body["registrations"]["count"] == 3
    assert body["enrichment"]["public"] is True and body["enrichment"]["version"] == 4
    assert body["first_seen"] == "2005-01-14T17:58:02.965944Z"  # frame 1


def test_ip_activity_of_a_phone_of_the_sample(v1: Api) -> None:
    """A sample phone's page lists its calls and registration (truth) and its private scope."""
    ip = "10.20.1.10"
    body = v1.get(f"/api/v1/ips/{ip}").json()
    calls = {
        f["call_id"] for f in TRUTH_CALLS if ip in (f["src"].split(":")[0], f["dst"].split(":")[0])
    }
    assert body["calls"]["count"] == len(calls)
    regs = [f for f in TRUTH["flows"] if f["kind"] == "register" and f["src"].startswith(ip + ":")]
    assert regs  # one truth flow per Call-ID; the store has a row per refresh cycle
    assert {r["call_id"] for r in body["registrations"]["newest"]} == {f["call_id"] for f in regs}
    assert body["enrichment"]["scope"] == "private"


def test_ip_must_be_an_address(v1: Api) -> None:
    """A path that is not an IP address is a 422 naming ``ip``; an unseen one is empty."""
    answer = v1.get("/api/v1/ips/not-an-ip")
    assert answer.status_code == 422
    assert answer.json()["error"]["detail"][0]["loc"] == ["path", "ip"]
    empty = v1.get("/api/v1/ips/2001:db8::1").json()
    assert empty["calls"]["count"] == 0 and empty["first_seen"] is None
    assert empty["messages"]["sent"]["total"] == 0


def test_search_by_caller_walks_newest_first(v1: Api) -> None:
    """The search finds the calls whose caller contains the digits, newest first, in
    pages that together give each once."""
    hits = walk(v1, "/api/v1/search?caller=%2B1&limit=3")
    expected = {f["call_id"] for f in TRUTH_CALLS if "1" in f["caller"].lstrip("+")}
    assert {h["call_id"] for h in hits} >= expected
    assert all(h["kind"] == "call" for h in hits)
    times = [h["ts"] for h in hits]
    assert times == sorted(times, reverse=True) and len(hits) == len({h["call_id"] for h in hits})


def test_bad_parameters_are_422(v1: Api) -> None:
    """A bad time, cursor, state, limit or empty number is a 422 naming the parameter."""
    for query, name in [("since=yesterday", "since"), ("until=nan", "until"),
                        ("cursor=abc", "cursor"), ("state=ringing", "state"),
                        ("limit=1001", "limit"), ("number=%20-", "number"),
                        ("cursor=1.5~call~3", "cursor")]:  # fmt: skip
        answer = v1.get(f"/api/v1/calls?{query}")
        assert answer.status_code == 422, query
        assert answer.json()["error"]["detail"][0]["loc"] == ["query", name], query
    assert v1.get("/api/v1/search").status_code == 422


def test_schema_holds_for_real_calls(v1: Api) -> None:
    """Answers about stored calls and addresses (not only the 404s schemathesis finds
    with made-up ids) match the OpenAPI schema."""
    import schemathesis

    schema = schemathesis.openapi.from_asgi("/openapi.json", v1.app)
    headers = v1.headers("viewer")
    cases = [
        ("/api/v1/calls/{call_id}", {"call_id": CALL}),
        ("/api/v1/calls/{call_id}/ladder.svg", {"call_id": CALL}),
        ("/api/v1/calls/{call_id}/pcap", {"call_id": CALL}),
        ("/api/v1/ips/{ip}", {"ip": "200.57.7.195"}),
    ]
    for path, params in cases:
        schema[path]["GET"].Case(path_parameters=params).call_and_validate(headers=headers)
    queries: list[tuple[str, dict[str, Any]]] = [
        ("/api/v1/calls", {"limit": 5}),
        ("/api/v1/search", {"caller": "2"}),
    ]
    for path, query in queries:
        schema[path]["GET"].Case(query=query).call_and_validate(headers=headers)

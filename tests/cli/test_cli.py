"""The `calltrace` command, run in-process on the bundled sample (as `make demo` does)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calltrace.cli import app

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "calltrace" / "data" / "sample.pcap"
README = Path(__file__).resolve().parents[2] / "README.md"
runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "ct.db"
    result = runner.invoke(app, ["analyze", str(SAMPLE), "--db", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_analyze_prints_the_call_table_and_stores(db: Path) -> None:
    """analyze prints a call table read back from the database and a summary with the counts."""
    doc = json.loads(runner.invoke(app, ["analyze", str(SAMPLE), "--no-store", "--json"]).stdout)
    result = runner.invoke(app, ["analyze", str(SAMPLE), "--db", str(db), "--limit", "5"])
    assert result.exit_code == 0, result.output
    assert "Calls" in result.output and "stored in" in result.output
    stats = doc["stats"]
    text = " ".join(result.output.split())  # rich wraps lines at the terminal width
    assert f"{stats['calls']} calls, {stats['registrations']} registrations" in text
    assert f"... {stats['calls'] - 5} more calls" in text


def test_analyze_json_is_one_document() -> None:
    """--json prints exactly one JSON document whose counts agree with each other."""
    result = runner.invoke(app, ["analyze", str(SAMPLE), "--no-store", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["stats"]["calls"] == len(doc["calls"]) > 0
    assert doc["stats"]["sip_messages"] == sum(doc["stats"]["methods"].values()) + sum(
        doc["stats"]["statuses"].values()
    )
    assert doc["files"][0]["sha256"] and doc["files"][0]["packets"] > 0


def test_no_detect_and_no_enrich_leave_the_rest_as_it_was() -> None:
    """--no-detect gives no alerts, --no-enrich null enrichment; calls stay the same."""
    args = ["analyze", str(SAMPLE), "--no-store", "--json"]
    full = json.loads(runner.invoke(app, args).stdout)
    bare = json.loads(runner.invoke(app, [*args, "--no-detect", "--no-enrich"]).stdout)
    assert full["alerts"] and bare["alerts"] == [] and bare["stats"]["alerts"] == 0
    assert all(c["enrichment"] is not None for c in full["calls"])
    assert all(c["enrichment"] is None for c in bare["calls"])
    strip = [{k: v for k, v in c.items() if k != "enrichment"} for c in full["calls"]]
    assert strip == [{k: v for k, v in c.items() if k != "enrichment"} for c in bare["calls"]]


def test_calls_filters_by_state_and_outputs_json(db: Path) -> None:
    """calls --state rejected --json returns only rejected calls."""
    result = runner.invoke(app, ["calls", "--db", str(db), "--state", "rejected", "--json"])
    assert result.exit_code == 0, result.output
    calls = json.loads(result.stdout)["calls"]
    assert calls and {c["state"] for c in calls} == {"rejected"}


def test_calls_rejects_a_bad_time(db: Path) -> None:
    """A --since that is not a time is a usage error with a hint, not a traceback."""
    result = runner.invoke(app, ["calls", "--db", str(db), "--since", "yesterday-ish"])
    assert result.exit_code == 2
    assert "ISO 8601" in result.output


def test_show_prints_fields_and_ladder(db: Path) -> None:
    """show prints a completed call's fields and a ladder with INVITE, 200 and BYE arrows."""
    listing = runner.invoke(app, ["calls", "--db", str(db), "--state", "completed", "--json"])
    call_id = json.loads(listing.stdout)["calls"][0]["call_id"]
    result = runner.invoke(app, ["show", call_id, "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert call_id in result.output
    for label in ("INVITE", "200 OK", "BYE", "|-"):
        assert label in result.output


def test_show_prints_the_enrichment(db: Path) -> None:
    """show prints an Enrichment section with the caller's and the address's facts."""
    listing = runner.invoke(app, ["calls", "--db", str(db), "--json"])
    call = json.loads(listing.stdout)["calls"][0]
    result = runner.invoke(app, ["show", call["call_id"], "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "Enrichment" in result.output and "scope=" in result.output


def test_show_unknown_call_fails_cleanly(db: Path) -> None:
    """show on an unknown Call-ID exits 1 with a message."""
    result = runner.invoke(app, ["show", "no-such-call", "--db", str(db)])
    assert result.exit_code == 1


def test_streams_lists_the_samples_rtp_with_its_calls(db: Path) -> None:
    """streams --json lists the sample's RTP, each stream tied to a stored call by SDP."""
    result = runner.invoke(app, ["streams", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    streams = json.loads(result.stdout)["rtp_streams"]
    assert streams and all(s["source"] == "sdp" for s in streams)
    calls = json.loads(runner.invoke(app, ["calls", "--db", str(db), "--json"]).stdout)["calls"]
    assert {s["call_id"] for s in streams} <= {c["call_id"] for c in calls}
    assert all(s["lost"] >= 0 and s["mos"] is not None for s in streams)


def test_show_includes_the_media_of_a_call(db: Path) -> None:
    """show prints a Media table for a call whose SDP announced RTP that was captured."""
    streams = json.loads(runner.invoke(app, ["streams", "--db", str(db), "--json"]).stdout)
    call_id = streams["rtp_streams"][0]["call_id"]
    result = runner.invoke(app, ["show", call_id, "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "Media" in result.output


def test_every_command_is_in_the_readme() -> None:
    """A command that README.md does not mention fails this test."""
    text = README.read_text()
    for command in app.registered_commands:
        name = command.name or command.callback.__name__  # type: ignore[union-attr]
        assert f"calltrace {name}" in text, name


def test_show_and_streams_print_media_summary_and_rtcp(tmp_path: Path) -> None:
    """A call with RTCP: show prints its media summary and RTCP table; streams --json lists
    the RTCP reports with ISO times."""
    from tests.test_pipeline_media import _rtcp_items, capture

    pcap, db = tmp_path / "rtcp.pcap", tmp_path / "rtcp.db"
    pcap.write_bytes(capture(_rtcp_items()))
    assert runner.invoke(app, ["analyze", str(pcap), "--db", str(db)]).exit_code == 0
    shown = runner.invoke(app, ["show", "rtcp@a", "--db", str(db)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0
    assert "Media summary" in shown.stdout and "RTCP reports" in shown.stdout
    assert "one_way_audio, silent: caller" in shown.stdout
    doc = json.loads(runner.invoke(app, ["streams", "--db", str(db), "--json"]).stdout)
    assert [r["kind"] for r in doc["rtcp_reports"]] == ["sr", "rr"]
    assert doc["rtcp_reports"][1]["ts"] == "2026-01-05T09:00:02.250000Z"

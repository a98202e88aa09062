"""The detection side of the command: event files, --config, the alert table, `rules`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from calltrace.cli import app
from calltrace.detect.registry import registered
from calltrace.store.db import open_engine
from calltrace.store.queries import find_alerts

runner = CliRunner()
T0 = 1767603600  # 2026-01-05T09:00:00Z


def _events(tmp_path: Path, name: str = "ev.jsonl") -> Path:
    path = tmp_path / name
    rows = [
        json.dumps(
            {
                "timestamp": T0 + i,
                "a_number": f"+1555010{i}",
                "b_number": "+15550999",
                "call_id": f"c{i}",
            }
        )
        for i in range(5)
    ]
    path.write_text("\n".join([*rows, "garbage"]) + "\n")
    return path


def _masking_only(tmp_path: Path) -> str:
    """A --config file switching off every rule but multicall_masking (these tests pin it)."""
    path = tmp_path / "masking.toml"
    path.write_text("".join(f"[rules.{r}]\nenabled = false\n" for r in registered()
                            if r != "multicall_masking"))  # fmt: skip
    return str(path)


def test_analyze_event_file_json(tmp_path: Path) -> None:
    """analyze on a JSONL file gives the JSON document with the alert and the bad line."""
    result = runner.invoke(app, ["analyze", str(_events(tmp_path)), "--no-store", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    (alert,) = [a for a in doc["alerts"] if a["rule"] == "multicall_masking"]
    assert alert["rule"] == "multicall_masking" and alert["entity"] == "+15550999"
    assert alert["first_seen"] == "2026-01-05T09:00:00.000000Z"
    assert alert["call_ids"] == ["c0", "c1", "c2", "c3", "c4"]
    assert [(e["packet"], e["kind"]) for e in doc["errors"]] == [(6, "bad_json")]
    assert doc["files"][0]["format"] == "jsonl" and doc["files"][0]["events"] == 5


def test_analyze_prints_alerts_and_stores_them(tmp_path: Path) -> None:
    """The console shows an alert table after the calls, and the alert is in the database."""
    db = tmp_path / "ct.db"
    args = ["analyze", str(_events(tmp_path, "cdr.ndjson")), "--db", str(db)]
    result = runner.invoke(app, [*args, "--config", _masking_only(tmp_path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert result.output.index("Calls") < result.output.index("1 alerts")
    assert "multicall_masking" in result.output
    (row,) = find_alerts(open_engine(db))
    assert row["rule"] == "multicall_masking" and row["status"] == "new"
    assert row["call_ids"] == ["c0", "c1", "c2", "c3", "c4"]


def test_config_can_silence_a_rule(tmp_path: Path) -> None:
    """--config with the rule disabled gives no alert for the same file."""
    config = tmp_path / "c.toml"
    config.write_text("[rules.multicall_masking]\nenabled = false\n")
    path = _events(tmp_path)
    result = runner.invoke(
        app, ["analyze", str(path), "--no-store", "--json", "--config", str(config)]
    )
    alerts = json.loads(result.stdout)["alerts"]
    assert [a for a in alerts if a["rule"] == "multicall_masking"] == []


def test_bad_config_exits_2_with_the_reason(tmp_path: Path) -> None:
    """An unknown rule in --config stops the run with exit code 2 and names the rule."""
    config = tmp_path / "c.toml"
    config.write_text("[rules.masking]\n")
    result = runner.invoke(app, ["analyze", str(_events(tmp_path)), "--config", str(config)])
    assert result.exit_code == 2 and "unknown rule 'masking'" in result.output


def test_rules_lists_every_rule(tmp_path: Path) -> None:
    """`rules --json` lists each rule with its thresholds, and --config changes what it shows."""
    doc = json.loads(runner.invoke(app, ["rules", "--json"]).stdout)
    (row,) = [r for r in doc["rules"] if r["rule"] == "multicall_masking"]
    assert row["params"] == {"min_callers": 5, "window": 5.0, "allowed_lateness": 1.0}
    assert row["cooldown"] == 30.0 and row["enabled"] is True
    config = tmp_path / "c.toml"
    config.write_text('[rules.multicall_masking]\nmin_callers = 8\nallowlist = ["+1"]\n')
    text = runner.invoke(app, ["rules", "--config", str(config)]).output
    assert "min_callers = 8" in text and "allowlist: 1 entries" in text

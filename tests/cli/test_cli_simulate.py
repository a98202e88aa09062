"""calltrace simulate and evaluate on the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from calltrace.cli import app

runner = CliRunner()


def test_simulate_analyze_evaluate(tmp_path: Path) -> None:
    """simulate writes the files, analyze --json finds the masking burst, and evaluate
    --json reports multicall_masking at precision and recall 1.0."""
    out = tmp_path / "run"
    done = runner.invoke(app, ["simulate", "office", "multicall_masking", "--out", str(out),
                               "--duration", "10", "--format", "both"])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert {p.name for p in out.iterdir()} == {
        "capture.pcap",
        "events.jsonl",
        "truth.json",
        "calltrace.toml",
    }
    analyzed = runner.invoke(app, ["analyze", str(out / "events.jsonl"), "--json", "--no-store"])
    assert analyzed.exit_code == 0, analyzed.output
    (tmp_path / "result.json").write_text(analyzed.stdout)
    scored = runner.invoke(app, ["evaluate", str(tmp_path / "result.json"),
                                 str(out / "truth.json"), "--json"])  # fmt: skip
    rule = json.loads(scored.stdout)["rules"]["multicall_masking"]
    assert (rule["precision"], rule["recall"], rule["fp_near_miss"]) == (1.0, 1.0, 0)
    table = runner.invoke(app, ["evaluate", str(tmp_path / "result.json"), str(out / "truth.json")])
    assert "multicall_masking" in table.stdout


def test_unknown_scenario_and_format_are_errors(tmp_path: Path) -> None:
    """A misspelt scenario or format stops with exit code 2 and names the problem."""
    bad = runner.invoke(app, ["simulate", "wangri", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "wangiri" in bad.output
    fmt = runner.invoke(app, ["simulate", "office", "--format", "cdr", "--out", str(tmp_path)])
    assert fmt.exit_code == 2


def test_list_names_every_scenario() -> None:
    """--list prints every scenario with its one-line description."""
    listed = runner.invoke(app, ["simulate", "--list"])
    assert listed.exit_code == 0
    assert "wangiri" in listed.stdout and "carrier" in listed.stdout

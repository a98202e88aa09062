"""The ``calltrace`` command (typer + rich). Commands stay thin: they parse options,
call the pipeline or the query layer, and hand the result to a view."""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from calltrace import __version__
from calltrace.config import Config, load_config
from calltrace.detect.engine import DetectionEngine
from calltrace.errors import UsageError
from calltrace.model import record_dict
from calltrace.pipeline import Analysis, Analyzer
from calltrace.report import console as views
from calltrace.report.jsondoc import alert_json, document
from calltrace.sources.events import event_format
from calltrace.sources.pcapfile import read_chunks
from calltrace.timeutil import parse_time

app = typer.Typer(
    help="CallTrace: rebuild and trace VoIP calls from captures; find fraud and attacks.",
    no_args_is_help=True,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)

#: Files bigger than this get a progress bar (on a terminal).
PROGRESS_MIN_BYTES = 16 << 20

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="CALLTRACE_DB",
        help="SQLite file, or a SQLAlchemy URL (postgresql+psycopg://...).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        exists=True,
        dir_okay=False,
        readable=True,
        help="TOML file: rules on/off, thresholds, allowlists, cooldowns (docs/rules.md).",
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"calltrace {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """CallTrace: rebuild and trace VoIP calls from captures; find fraud and attacks."""


def _config(path: Path | None) -> Config:
    """The --config file, or a clean exit naming what is wrong with it."""
    try:
        return load_config(path)
    except UsageError as exc:
        err.print(f"[red]config error:[/] {exc.detail}", markup=True, highlight=False)
        raise typer.Exit(2) from None


def _run(
    paths: list[Path],
    sink: Any,
    *,
    keep_results: bool,
    heuristic_rtp: bool,
    config: Config,
    detect: bool = True,
) -> Analysis:
    analyzer = Analyzer(
        sink,
        keep_results=keep_results,
        heuristic_rtp=heuristic_rtp,
        engine=DetectionEngine(config) if detect else None,
        detect=detect,
    )
    total = sum(p.stat().st_size for p in paths)
    show = total >= PROGRESS_MIN_BYTES and err.is_terminal
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not show,
        transient=True,
    ) as progress:
        task = progress.add_task("analyzing", total=total)
        for path in paths:
            progress.update(task, description=path.name)
            analyzer.begin_file(str(path), event_format(path))
            for chunk in read_chunks(path, progress=lambda n: progress.advance(task, n)):
                analyzer.feed(chunk)
            analyzer.end_file()
        return analyzer.finish()


@app.command()
def analyze(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Capture files (pcap or pcapng) or call-event files (JSONL or CSV: by "
            "extension or content), read in order as one stream: a call still open when a "
            "file ends continues in the next (rotated captures) and is stored with the file "
            "being read when its record is complete.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    db: DbOption = "calltrace.db",
    as_json: JsonOption = False,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not write to the database.")
    ] = False,
    limit: Annotated[int, typer.Option(help="Rows of the call table to print.")] = 100,
    heuristic_rtp: Annotated[
        bool,
        typer.Option(
            "--heuristic-rtp",
            help="Also find RTP that no SDP announced (as tshark's rtp.heuristic_rtp).",
        ),
    ] = False,
    config_file: ConfigOption = None,
    no_detect: Annotated[
        bool,
        typer.Option("--no-detect", help="Do not run the detection rules (no alerts)."),
    ] = False,
    no_enrich: Annotated[
        bool,
        typer.Option(
            "--no-enrich",
            help="Leave `enrichment` null in the JSON document (number, IP and device facts).",
        ),
    ] = False,
) -> None:
    """Decode captures (or read call-event files), rebuild calls, registrations and RTP
    streams, run the detectors, store everything, print the call and alert tables."""
    config = _config(config_file)
    # Decoding makes millions of short-lived objects and no reference cycles: collecting
    # generation 0 every 700 allocations costs 8-13% of the run (bench/bench_trace.py).
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    sink = None
    if not no_store:
        from calltrace.store.db import open_engine
        from calltrace.store.writer import StoreSink

        sink = StoreSink(open_engine(db))
    # Results stay in memory only for the JSON document or when nothing is stored; with a
    # database the table is read back from it, so memory is flat on any capture size.
    analysis = _run(
        paths,
        sink,
        keep_results=as_json or sink is None,
        heuristic_rtp=heuristic_rtp,
        config=config,
        detect=not no_detect,
    )
    if sink is not None:
        sink.close()
    if as_json:
        _print_json(document(analysis, enrich=not no_enrich))
        return
    if sink is None:
        rows = [record_dict(call) for call in analysis.calls[:limit]]
    else:
        from calltrace.store.queries import find_calls

        rows = find_calls(sink.engine, capture_ids=sink.capture_ids, limit=limit)
    _print_summary(analysis, rows, None if no_store else db)


def _print_summary(analysis: Analysis, rows: list[dict[str, Any]], db: str | None) -> None:
    stats = analysis.stats
    out.print(views.call_table(rows, title="Calls"))
    if stats.calls > len(rows):
        out.print(
            f"... {stats.calls - len(rows)} more calls (use --limit, --json, or `calltrace calls`)"
        )
    if analysis.alerts:
        rows_shown = [alert_json(a) for a in analysis.alerts[:100]]
        for row, alert in zip(rows_shown, analysis.alerts, strict=False):
            row["first_seen"] = alert.first_seen
        out.print(views.alert_table(rows_shown, title=f"{len(analysis.alerts)} alerts"))
    methods = ", ".join(f"{k} {v}" for k, v in sorted(stats.methods.items()))
    out.print(
        f"[bold]{len(analysis.files)}[/] file(s), {stats.packets} packets, "
        f"{stats.sip_messages} SIP messages ({methods}), [bold]{stats.calls}[/] calls, "
        f"{stats.registrations} registrations, {stats.rtp_streams} RTP streams, "
        f"{stats.decode_errors} decode errors, "
        f"{stats.defects} messages with defects, "
        f"[bold]{stats.alerts}[/] alerts"
    )
    if db is not None:
        out.print(f"stored in [bold]{db}[/]")


@app.command()
def calls(
    db: DbOption = "calltrace.db",
    caller: Annotated[str | None, typer.Option(help="Caller number contains this.")] = None,
    callee: Annotated[str | None, typer.Option(help="Callee number contains this.")] = None,
    ip: Annotated[str | None, typer.Option(help="Signalling source or destination IP.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Calls starting at or after (ISO 8601 or epoch).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Calls starting before this time.")] = None,
    state: Annotated[
        str | None,
        typer.Option(help="completed|answered|cancelled|rejected|failed|in_progress"),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many calls.")] = 1000,
    as_json: JsonOption = False,
) -> None:
    """Query stored calls."""
    from calltrace.store.db import open_engine
    from calltrace.store.queries import find_calls

    _require_db(db)
    try:
        since_ts = parse_time(since) if since else None
        until_ts = parse_time(until) if until else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    rows = find_calls(
        open_engine(db),
        caller=caller,
        callee=callee,
        ip=ip,
        since=since_ts,
        until=until_ts,
        state=state,
        limit=limit,
    )
    if as_json:
        from calltrace.report.jsondoc import CALL_TIMES, iso

        for row in rows:
            for key in CALL_TIMES:
                row[key] = iso(row[key])
        _print_json({"calls": rows})
        return
    out.print(views.call_table(rows, title=f"{len(rows)} calls"))


@app.command()
def show(
    call_id: Annotated[str, typer.Argument(help="Call-ID (or a unique prefix of it).")],
    db: DbOption = "calltrace.db",
    raw: Annotated[bool, typer.Option("--raw", help="Also print every message as sent.")] = False,
) -> None:
    """Print one call: its fields and its ladder diagram (like sngrep)."""
    from calltrace.enrich.enricher import default_enricher
    from calltrace.model import record_dict
    from calltrace.store.db import open_engine
    from calltrace.store.queries import call_messages, find_rtcp, find_streams, get_call
    from calltrace.trace.callmedia import streams_of, summarize

    _require_db(db)
    engine = open_engine(db)
    call = get_call(engine, call_id)
    if call is None:
        err.print(f"no call with Call-ID {call_id!r} in {db}")
        raise typer.Exit(1)
    messages = call_messages(engine, call["call_id"])
    out.print(views.call_details(call))
    out.print(views.enrichment_table(default_enricher().call_dict(call)))
    out.print()
    out.print(views.ladder(messages))
    streams = find_streams(engine, call_id=call["call_id"], limit=None)
    summary = record_dict(summarize(call, streams))
    out.print()
    out.print(views.media_summary(summary))
    mine = streams_of(call, streams)
    if mine:
        out.print()
        out.print(views.stream_table(mine, title="Media"))
    reports = find_rtcp(engine, call_id=call["call_id"])
    if reports:
        out.print()
        out.print(views.rtcp_table(reports))
    if raw:
        for message in messages:
            out.rule(f"packet {message['packet']}")
            out.print(message["raw"].decode("utf-8", "replace"), markup=False, highlight=False)


@app.command()
def streams(
    db: DbOption = "calltrace.db",
    call: Annotated[str | None, typer.Option("--call", help="Streams of this Call-ID.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many streams.")] = 1000,
    as_json: JsonOption = False,
) -> None:
    """List stored RTP streams with tshark's figures (loss, delta, jitter) and the MOS,
    then the RTCP reports (loss, jitter and round trip as the endpoints saw them)."""
    from calltrace.store.db import open_engine
    from calltrace.store.queries import find_rtcp, find_streams

    _require_db(db)
    engine = open_engine(db)
    rows = find_streams(engine, call_id=call, limit=limit)
    reports = find_rtcp(engine, call_id=call, limit=limit)
    if as_json:
        from calltrace.report.jsondoc import iso

        for row in rows:
            row["start"], row["end"] = iso(row["start"]), iso(row["end"])
            for event in row.get("dtmf") or []:
                event["start"] = iso(event["start"])
        for report in reports:
            report["ts"] = iso(report["ts"])
        _print_json({"rtp_streams": rows, "rtcp_reports": reports})
        return
    out.print(views.stream_table(rows, title=f"{len(rows)} RTP streams"))
    if reports:
        out.print(views.rtcp_table(reports, title=f"{len(reports)} RTCP reports"))


@app.command()
def rules(
    config_file: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the detection rules: enabled or not, thresholds, cooldown and what each catches."""
    from calltrace.detect.engine import rule_table

    table = rule_table(_config(config_file))
    if as_json:
        _print_json({"rules": table})
        return
    out.print(views.rule_list(table))


@app.command()
def simulate(
    scenarios: Annotated[
        list[str],
        typer.Argument(
            help="Scenarios, mixed into one run: office, carrier, demo, or an attack "
            "scenario per rule (multicall_masking, wangiri, ...; `--list` names them)."
        ),
    ] = [],  # noqa: B006 - typer reads the default, never mutates it
    out_dir: Annotated[
        Path, typer.Option("--out", file_okay=False, help="Folder for the files.")
    ] = Path("simulation"),
    seed: Annotated[int, typer.Option(help="Same seed, same bytes.")] = 1,
    duration: Annotated[
        float, typer.Option(help="Seconds during which background calls start.")
    ] = 300.0,
    rate: Annotated[
        float | None, typer.Option(help="Background calls per second (default: the scenario's).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="pcap, jsonl (call events) or both.")
    ] = "pcap",
    rtp: Annotated[bool, typer.Option("--rtp", help="RTP for answered calls.")] = False,
    list_only: Annotated[bool, typer.Option("--list", help="List the scenarios.")] = False,
) -> None:
    """Generate labelled traffic: capture.pcap and/or events.jsonl, and truth.json naming
    the calls and entities of every staged attack and near miss (docs/simulate.md)."""
    from calltrace.sim.engine import SimConfig
    from calltrace.sim.scenarios import available
    from calltrace.sources.simwriter import FORMATS, write_run

    if list_only or not scenarios:
        for name, entry in available().items():
            out.print(f"[bold]{name}[/]  {entry.description}", highlight=False)
        return
    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    config = SimConfig(seed=seed, duration=duration, rate=rate, rtp=rtp, max_talk_s=None)
    try:
        result = write_run(scenarios, config, out_dir, fmt)
    except KeyError as exc:
        err.print(f"[red]{exc.args[0]}[/]", highlight=False)
        raise typer.Exit(2) from None
    if result.pcap is not None:
        out.print(f"{result.pcap}: {result.frames} frames")
    if result.events is not None:
        out.print(f"{result.events}: {result.lines} call events")
    out.print(f"{result.truth}: truth")
    if result.config is not None:
        out.print(f"{result.config}: the site's allowlists (analyze with --config)")


@app.command()
def evaluate(
    result_file: Annotated[
        Path, typer.Argument(help="`calltrace analyze --json` output.", exists=True, dir_okay=False)
    ],
    truth_file: Annotated[
        Path,
        typer.Argument(help="truth.json of `calltrace simulate`.", exists=True, dir_okay=False),
    ],
    as_json: JsonOption = False,
) -> None:
    """Precision and recall per rule of an analysis against a simulation's truth."""
    from calltrace.sim.evaluate import evaluate as score_of

    try:
        result = json.loads(result_file.read_text(encoding="utf-8"))
        truth = json.loads(truth_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        err.print(f"[red]cannot read: {exc}[/]", highlight=False)
        raise typer.Exit(2) from None
    score = score_of(result, truth)
    if as_json:
        _print_json(score)
        return
    out.print(views.evaluation_table(score))
    for item in score["missed"]:
        out.print(f"missed: {item['id']} ({item['description']})", highlight=False)
    for item in score["false_positives"][:50]:
        where = f" (near miss {item['near_miss']})" if item["near_miss"] else ""
        out.print(f"false positive: {item['rule']} on {item['entity']}{where}", highlight=False)


def _print_json(document: dict[str, Any]) -> None:
    """One JSON document on stdout, encoded by orjson in one shot (~6x faster than the
    stdlib's C encoder on a call document; ``json.dump`` streams through the pure-Python
    encoder, which took 40 s for the 144k calls of a 1M-message capture). orjson writes
    ``null`` for NaN and infinities, where ``json`` would write invalid JSON; what orjson
    cannot encode (an integer beyond 64 bits) goes through ``json``."""
    try:
        text = orjson.dumps(document).decode()
    except orjson.JSONEncodeError:
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    sys.stdout.write(text)
    sys.stdout.write("\n")


def _require_db(db: str) -> None:
    if "://" not in db and not os.path.exists(db):
        err.print(f"no database at {db!r}: run `calltrace analyze CAPTURE --db {db}` first")
        raise typer.Exit(1)


def _register_service_commands() -> None:
    from calltrace.api.cli import register

    register(app)


_register_service_commands()

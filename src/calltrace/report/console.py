"""Terminal views (rich): the call table, one call's details, its coloured ladder.

Kept out of cli.py so the command functions stay short and these views can be reused
by later commands (``streams``, ``alerts``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from calltrace.report.jsondoc import iso
from calltrace.report.ladder import render, steps_from_messages

STATE_STYLES = {
    "completed": "green",
    "answered": "bright_green",
    "cancelled": "yellow",
    "rejected": "red",
    "failed": "bright_red",
    "in_progress": "cyan",
}
KIND_STYLES = {
    "header": "bold",
    "request": "cyan",
    "1xx": "yellow",
    "2xx": "green",
    "3xx": "magenta",
    "4xx": "red",
    "5xx": "bright_red",
    "6xx": "bright_red",
}


def _short_time(ts: float | None) -> str:
    """``2026-01-05 09:03:07.653`` (UTC, milliseconds)."""
    text = iso(ts)
    return "" if text is None else text[:23].replace("T", " ")


def _secs(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def call_table(calls: Iterable[Mapping[str, Any]], *, title: str = "Calls") -> Table:
    """One row per call: what an analyst scans first."""
    table = Table(title=title, header_style="bold", expand=False)
    # Cells never wrap: on a narrow terminal the long ones are cut with an ellipsis, so
    # one call stays one line, as in sngrep.
    for name, justify, min_width in (
        ("Start (UTC)", "left", 23),
        ("Call-ID", "left", 8),
        ("Caller", "left", 13),
        ("Callee", "left", 13),
        ("State", "left", 9),
        ("Final", "right", 5),
        ("Dur s", "right", 8),
        ("PDD s", "right", 5),
        ("Source", "left", 8),
        ("User-Agent", "left", 6),
    ):
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=True,
            overflow="ellipsis",
            min_width=min_width,
        )
    for call in calls:
        state = call.get("state") or ""
        final = call.get("final_status")
        table.add_row(
            _short_time(call.get("start")),
            (call.get("call_id") or "")[:28],
            call.get("caller") or "",
            call.get("callee") or "",
            Text(state, style=STATE_STYLES.get(state, "")),
            "" if final is None else str(final),
            _secs(call.get("duration")),
            _secs(call.get("pdd")),
            f"{call.get('src_ip') or ''}:{call.get('src_port') or ''}",
            (call.get("user_agent") or "")[:32],
        )
    return table


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def stream_table(streams: Iterable[Mapping[str, Any]], *, title: str = "RTP streams") -> Table:
    """One row per RTP stream, with tshark's columns and the MOS."""
    table = Table(title=title, header_style="bold")
    for name in (
        "Start (UTC)",
        "Source",
        "Destination",
        "SSRC",
        "Codec",
        "Pkts",
        "Lost",
        "Max Δ ms",
        "Max jitter ms",
        "MOS",
        "Call-ID",
    ):
        table.add_column(name, no_wrap=True, overflow="ellipsis")
    for s in streams:
        lost = f"{s.get('lost')} ({s.get('lost_pct', 0.0):.1f}%)"
        mos = s.get("mos")
        table.add_row(
            _short_time(s.get("start")),
            f"{s.get('src_ip')}:{s.get('src_port')}",
            f"{s.get('dst_ip')}:{s.get('dst_port')}",
            f"0x{s.get('ssrc', 0):08X}",
            s.get("codec") or str(s.get("payload_type")),
            str(s.get("packets")),
            Text(lost, style="red" if s.get("problems") else ""),
            _ms(s.get("max_delta_ms")),
            _ms(s.get("max_jitter_ms")),
            "" if mos is None else f"{mos:.2f}",
            (s.get("call_id") or "")[:24],
        )
    return table


SEVERITY_STYLES = {"critical": "bold bright_red", "high": "red", "medium": "yellow", "low": "cyan"}


def alert_table(alerts: Iterable[Mapping[str, Any]], *, title: str = "Alerts") -> Table:
    """One row per alert: when, severity and score, rule, entity, and the headline.

    Laid out for an 80-column terminal: the fixed columns do not wrap (the date moves to
    the title when every alert shares it), the headline takes what is left (the JSON
    document holds the evidence).
    """
    rows = list(alerts)
    times = [_short_time(a.get("first_seen"))[:19] for a in rows]
    days = {t[:10] for t in times}
    if len(days) == 1:
        title = f"{title} ({days.pop()}, UTC)"
        times = [t[11:] for t in times]
    table = Table(title=title, header_style="bold")
    table.add_column("First seen", no_wrap=True)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Rule", no_wrap=True)
    table.add_column("Entity", overflow="fold", min_width=16)
    table.add_column("Title", overflow="fold", ratio=1, min_width=16)
    for a, when in zip(rows, times, strict=True):
        severity = a.get("severity") or ""
        table.add_row(
            when,
            Text(f"{severity} {a.get('score')}", style=SEVERITY_STYLES.get(severity, "")),
            a.get("rule") or "",
            str(a.get("entity") or ""),
            a.get("title") or "",
        )
    return table


def rtcp_table(reports: Iterable[Mapping[str, Any]], *, title: str = "RTCP reports") -> Table:
    """One row per RTCP report block (or SR, or XR VoIP block): loss, jitter, round trip."""
    table = Table(title=title, header_style="bold")
    for name in ("Time (UTC)", "Kind", "From", "Sender", "About", "Frac lost", "Cum lost",
                 "Jitter ms", "RTT ms", "XR MOS-LQ"):  # fmt: skip
        table.add_column(name, no_wrap=True, overflow="ellipsis")
    for r in reports:
        frac, xr = r.get("fraction_lost"), r.get("xr") or {}
        ssrc = r.get("ssrc")
        table.add_row(
            _short_time(r.get("ts")),
            str(r.get("kind", "")).upper(),
            f"{r.get('src_ip')}:{r.get('src_port')}",
            f"0x{r.get('sender_ssrc', 0):08X}",
            "" if ssrc is None else f"0x{ssrc:08X}",
            "" if frac is None else f"{frac * 100:.1f}%",
            "" if r.get("cumulative_lost") is None else str(r.get("cumulative_lost")),
            _ms(r.get("jitter_ms")),
            _ms(r.get("rtt_ms")),
            "" if xr.get("mos_lq") is None else f"{xr['mos_lq']:.1f}",
        )
    return table


def rule_list(rules: Iterable[Mapping[str, Any]]) -> Group:
    """``calltrace rules``: one block per rule (a table's doc column is unreadable at 80
    columns): id, on/off, severity, entity, cooldown; thresholds; the doc paragraph."""
    blocks: list[Text] = []
    for r in rules:
        head = Text.assemble(
            (r["rule"], "bold"),
            "  ",
            ("on", "green") if r["enabled"] else ("off", "red"),
            f"  {r['severity']}  entity {r['entity_type']}  cooldown {r['cooldown']:g} s",
        )
        params = ", ".join(f"{k} = {v}" for k, v in r["params"].items())
        if r["allowlist"]:
            params += f", allowlist: {len(r['allowlist'])} entries"
        blocks.append(Text.assemble(head, "\n  ", params, "\n  ", r["doc"], "\n"))
    return Group(*blocks)


def media_summary(summary: Mapping[str, Any]) -> Table:
    """Key/value view of a call's media summary (trace/callmedia.py, record_dict form)."""
    table = Table(show_header=False, box=None, pad_edge=False, title="Media summary")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key in ("streams", "packets", "worst_mos", "worst_loss_pct", "max_jitter_ms"):
        value = summary.get(key)
        table.add_row(key, "-" if value is None else str(round(value, 3)))
    table.add_row("codecs", ", ".join(summary.get("codecs") or ()) or "-")
    for party in summary.get("parties") or ():
        nat = "  [bold red]NAT: RTP not from its SDP address[/]" if party.get("nat") else ""
        table.add_row(
            party.get("party"),
            f"SDP {', '.join(party.get('sdp') or ()) or '-'}; RTP from "
            f"{', '.join(party.get('rtp_from') or ()) or '-'} ({party.get('packets')} pkts){nat}",
        )
    flags = [name for name in ("one_way_audio", "no_media", "on_hold") if summary.get(name)]
    if summary.get("silent_party"):
        flags.append(f"silent: {summary['silent_party']}")
    table.add_row("problems", ", ".join(flags) or "-")
    table.add_row("encryption", ", ".join(summary.get("encryption") or ()) or "none seen")
    for late in summary.get("rtp_after_bye") or ():
        table.add_row(
            "RTP after BYE",
            f"0x{late.get('ssrc', 0):08X} {late.get('src')} -> {late.get('dst')}: "
            f"last packet {late.get('after_s'):.3f} s after the end",
        )
    return table


DETAIL_FIELDS = (
    "call_id",
    "state",
    "final_status",
    "final_reason",
    "hangup_by",
    "caller",
    "callee",
    "from_uri",
    "to_uri",
    "request_uri",
    "pai",
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "transport",
    "user_agent",
    "server",
    "contact",
    "auth_challenged",
    "messages",
    "retransmissions",
)
TIME_FIELDS = ("start", "ringing", "answered", "end")
SPAN_FIELDS = ("duration", "setup_time", "pdd")


def call_details(call: Mapping[str, Any]) -> Table:
    """Key/value view of every field an investigator asks about."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key in DETAIL_FIELDS[:2]:
        table.add_row(key, str(call.get(key)))
    for key in TIME_FIELDS:
        table.add_row(key, iso(call.get(key)) or "-")
    for key in SPAN_FIELDS:
        value = call.get(key)
        table.add_row(key, "-" if value is None else f"{value:.6f} s")
    for key in DETAIL_FIELDS[2:]:
        value = call.get(key)
        table.add_row(key, "-" if value is None else str(value))
    for key in ("codecs", "via", "forks"):
        values = call.get(key) or []
        table.add_row(key, ", ".join(map(str, values)) or "-")
    for media in call.get("media") or []:
        table.add_row(
            "media",
            f"{media.get('party')}: {media.get('media')} {media.get('ip')}:{media.get('port')} "
            f"{media.get('proto')} {' '.join(media.get('codecs') or [])}"
            f" ({media.get('direction')})",
        )
    methods = call.get("methods") or {}
    table.add_row("methods", ", ".join(f"{k} {v}" for k, v in methods.items()) or "-")
    return table


def ladder(messages: Iterable[Mapping[str, Any]]) -> Group:
    """The coloured ladder diagram of stored messages (rows of ``sip_messages``)."""
    steps = steps_from_messages(messages)
    return Group(*(Text(line, style=KIND_STYLES.get(kind, "")) for line, kind in render(steps)))


def enrichment_table(enrichment: Mapping[str, Any]) -> Table:
    """Key/value view of a call's enrichment (numbers, source address, device)."""
    table = Table(title="Enrichment", show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, facts in enrichment.items():
        if not facts:
            table.add_row(key, "-")
            continue
        text = ", ".join(
            f"{name}={', '.join(map(str, value)) if isinstance(value, list) else value}"
            for name, value in facts.items()
            if value not in (None, [], "")
        )
        table.add_row(key, text or "-")
    return table


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def evaluation_table(score: Mapping[str, Any]) -> Table:
    """``calltrace evaluate``: precision and recall per rule, then the overall line."""
    table = Table(title="Detection against the simulator's truth (FP nm: on a near miss)")
    table.add_column("rule", no_wrap=True)
    for name in ("attacks", "found", "alerts", "TP", "FP", "FP nm", "FN", "precision", "recall"):
        table.add_column(name, justify="right")
    rows = [*score["rules"].items(), ("overall", score["overall"])]
    for rule, row in rows:
        table.add_row(
            rule, str(row["attacks"]), str(row["detected"]), str(row["alerts"]), str(row["tp"]),
            str(row["fp"]), str(row["fp_near_miss"]), str(row["fn"]), _pct(row["precision"]),
            _pct(row["recall"]), style="bold" if rule == "overall" else None,
        )  # fmt: skip
    return table

"""Analyze speed: calltrace against tshark on one generated carrier capture.

Usage::

    .venv/bin/python bench/bench_analyze.py                 # >= 1,000,000 SIP messages
    .venv/bin/python bench/bench_analyze.py --messages 50000  # a quick run

The capture (SIP only, "carrier" scenario) is written to bench/out/ (git-ignored) and
reused while its parameters are unchanged. Each tool runs once as a subprocess with the
venv's executables; wall time, SIP messages per second and the speed relative to
tshark are printed. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from calltrace.sim.engine import TRUTH_VERSION, SimConfig
from calltrace.sim.scenarios import simulation
from calltrace.sources.pcapwriter import write_simulation

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
EXTRA_PORTS = ["-d", "udp.port==5080,sip", "-d", "tcp.port==5080,sip"]
MESSAGES_PER_CALL = 7.0  # carrier mix, registrations and pings included (measured)


def cached(out: Path, stem: str) -> tuple[Path, Path, dict[str, object] | None]:
    """Where capture ``stem`` lives in ``out``, and its truth when it is already there
    (written by this truth version, and as long as the truth says)."""
    pcap, truth_path = out / f"{stem}.pcap", out / f"{stem}.truth.json"
    if pcap.exists() and truth_path.exists():
        truth = json.loads(truth_path.read_text())
        if (
            truth.get("truth_version") == TRUTH_VERSION
            and truth["file"]["bytes"] == pcap.stat().st_size
        ):
            print(f"reusing {pcap}")
            return pcap, truth_path, truth
    out.mkdir(parents=True, exist_ok=True)
    return pcap, truth_path, None


def capture(out: Path, messages: int, seed: int, rate: float) -> tuple[Path, dict[str, object]]:
    """The benchmark capture for these parameters, generated unless already there."""
    pcap, truth_path, truth = cached(out, f"carrier-m{messages}-s{seed}-r{rate:g}")
    if truth is not None:
        return pcap, truth
    duration = messages / (rate * MESSAGES_PER_CALL) * 1.5 + 60
    config = SimConfig(seed=seed, rate=rate, duration=duration, max_messages=messages)
    started = time.perf_counter()
    write_simulation(simulation("carrier", config), pcap, truth_path=truth_path)
    took = time.perf_counter() - started
    truth = json.loads(truth_path.read_text())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    speed = truth["sip_messages"] / took
    print(f"generated {pcap} in {took:.1f} s ({speed:,.0f} SIP messages/s, peak RSS {rss:.0f} MiB)")
    return pcap, truth


def timed(argv: list[str], stdout: int | None = subprocess.DEVNULL) -> float | None:
    """Wall time of one run, or None when it failed (its stderr is shown)."""
    started = time.perf_counter()
    proc = subprocess.run(argv, stdout=stdout, stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - started
    if proc.returncode != 0:
        print(f"  {' '.join(argv[:2])}... failed ({proc.returncode}): {proc.stderr.strip()[:300]}")
        return None
    return took


def analyze_available(calltrace: Path) -> bool:
    if not calltrace.exists():
        return False
    probe = subprocess.run([str(calltrace), "analyze", "--help"], capture_output=True, text=True)
    return probe.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="calltrace analyze vs tshark, SIP msgs/s")
    parser.add_argument("--messages", type=int, default=1_000_000, help="SIP messages at least")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=30.0, help="calls per second")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--skip", action="append", default=[], choices=["json", "db", "tshark"],
                        help="leave a run out (repeatable)")  # fmt: skip
    args = parser.parse_args(argv)

    pcap, truth = capture(args.out, args.messages, args.seed, args.rate)
    messages = int(truth["sip_messages"])  # type: ignore[call-overload]
    size = pcap.stat().st_size
    print(f"file {pcap.name}: {size / 1e6:,.1f} MB, {truth['frames']:,} frames, "
          f"{messages:,} SIP messages")  # fmt: skip

    calltrace = BIN / "calltrace"
    db = args.out / "bench.db"
    has_analyze = analyze_available(calltrace)
    tshark = shutil.which("tshark")
    runs: list[tuple[str, list[str] | None]] = []
    if "json" not in args.skip:
        cmd = [str(calltrace), "analyze", str(pcap), "--no-store", "--json"]
        runs.append(("calltrace analyze --no-store --json", cmd if has_analyze else None))
    if "db" not in args.skip:
        cmd = [str(calltrace), "analyze", str(pcap), "--db", str(db)]
        runs.append(("calltrace analyze --db (fresh)", cmd if has_analyze else None))
    if "tshark" not in args.skip:
        cmd = [tshark or "tshark", "-r", str(pcap), "-q", "-z", "sip,stat", *EXTRA_PORTS]
        runs.append(("tshark -q -z sip,stat", cmd if tshark else None))

    results: dict[str, float | None] = {}
    for label, cmd in runs:
        if cmd is None:
            results[label] = None
            continue
        if "--db" in cmd:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
        results[label] = timed(cmd)
    base = results.get("tshark -q -z sip,stat")

    print(f"\n{'run':38} {'wall s':>9} {'SIP msg/s':>12} {'vs tshark':>10}")
    for label, took in results.items():
        if took is None:
            print(f"{label:38} {'not available':>9}")
            continue
        ratio = f"{base / took:.2f}x" if base else "-"
        print(f"{label:38} {took:9.2f} {messages / took:12,.0f} {ratio:>10}")
    print(f"\n(cores: {os.cpu_count()}, python {sys.version.split()[0]}; "
          "'vs tshark' = tshark wall time / this run's wall time)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

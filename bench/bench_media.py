"""Media speed (issue 3): calltrace against tshark's RTP streams on one generated capture.

Usage::

    .venv/bin/python bench/bench_media.py               # 200 concurrent calls x 60 s
    .venv/bin/python bench/bench_media.py --calls 20    # a quick run

The capture ("media" scenario: ``calls`` answered calls starting 20 per second, each
talking 60 s, G.711/G.729 RTP both ways with 2 ms jitter and 0.5 % loss) is written to
bench/out/ (git-ignored) and reused while its parameters are unchanged. Each tool runs
once as a subprocess on the same file:

* ``calltrace analyze FILE --no-store --heuristic-rtp --json`` (the bulk lane),
* the same with ``CALLTRACE_NO_BULK=1`` (the per-record path; ``--skip scalar``),
* ``tshark -q -o rtp.heuristic_rtp:TRUE -z rtp,streams -r FILE``.

It prints wall and CPU time, packets per second and the speed relative to tshark, then
checks that every stream tshark lists is ours with the same packets and lost counts and
min/mean/max delta and jitter within 0.01 ms. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench_analyze import cached
from calltrace.sim.engine import SimConfig
from calltrace.sim.scenarios import simulation
from calltrace.sim.wire import WireOptions
from calltrace.sources.pcapwriter import write_simulation

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
RATE = 20.0  # calls started per second
ROW = re.compile(
    r"^\s*\S+\s+\S+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(0x[0-9A-Fa-f]+)\s+.+?\s+(\d+)\s+(-?\d+) "
    r"\(.*?\)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)"
)
FIGURES = ("min_delta_ms", "mean_delta_ms", "max_delta_ms", "min_jitter_ms", "mean_jitter_ms",
           "max_jitter_ms")  # fmt: skip


def capture(out: Path, calls: int, seed: int) -> tuple[Path, dict[str, object]]:
    """The benchmark capture for these parameters, generated unless already there."""
    pcap, truth_path, truth = cached(out, f"media-c{calls}-s{seed}")
    if truth is not None:
        return pcap, truth
    config = SimConfig(
        seed=seed,
        rate=RATE,
        duration=calls / RATE,
        rtp=True,
        wire=WireOptions(rtp_jitter_ms=2.0, rtp_loss=0.005),
    )
    started = time.perf_counter()
    write_simulation(simulation("media", config), pcap, truth_path=truth_path)
    took = time.perf_counter() - started
    truth = json.loads(truth_path.read_text())
    print(f"generated {pcap} in {took:.1f} s")
    return pcap, truth


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str] | None:
    """Wall time, CPU time (user + system of the child) and stdout of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    took = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if proc.returncode != 0:
        print(f"  {' '.join(argv[:2])}... failed ({proc.returncode}): {proc.stderr.strip()[:300]}")
        return None
    return took, cpu, proc.stdout


def tshark_rows(text: str) -> dict[tuple[str, int, str, int, int], list[float]]:
    """tshark's rtp,streams table: key -> [packets, lost, six figures in ms]."""
    rows = {}
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            key = (m[1], int(m[2]), m[3], int(m[4]), int(m[5], 16))
            rows[key] = [float(v) for v in m.groups()[5:]]
    return rows


def compare(
    ours: list[dict[str, object]], theirs: dict[tuple[str, int, str, int, int], list[float]]
) -> list[str]:
    """Where our streams differ from tshark's (empty when the figures agree)."""
    problems = []
    mine = {(s["src_ip"], s["src_port"], s["dst_ip"], s["dst_port"], s["ssrc"]): s for s in ours}
    for key, row in theirs.items():
        s = mine.get(key)  # type: ignore[call-overload]
        if s is None:
            problems.append(f"missing {key}")
            continue
        if (s["packets"], s["lost"]) != (int(row[0]), int(row[1])):
            problems.append(f"{key}: packets/lost {s['packets']}/{s['lost']} vs {row[:2]}")
        for name, value in zip(FIGURES, row[2:], strict=True):
            got = s[name] if s[name] is not None else -1.0
            if abs(float(got) - value) > 0.01:  # type: ignore[arg-type]
                problems.append(f"{key}: {name} {got} vs {value}")
    extra = set(mine) - set(theirs)
    problems.extend(f"not in tshark: {key}" for key in sorted(extra))  # type: ignore[type-var]
    return problems


def agree(a: list[dict[str, object]], b: list[dict[str, object]]) -> bool:
    """Equal streams, floats within 1e-9 (the vectorised sums run in another order)."""
    if len(a) != len(b):
        return False
    for s, t in zip(a, b, strict=True):
        for key, x in s.items():
            y = t.get(key)
            if isinstance(x, float) and isinstance(y, float):
                if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif x != y:
                return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="calltrace analyze vs tshark rtp,streams")
    parser.add_argument("--calls", type=int, default=200, help="concurrent calls of 60 s")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--skip", action="append", default=[], choices=["scalar", "tshark"])
    args = parser.parse_args(argv)

    pcap, truth = capture(args.out, args.calls, args.seed)
    frames = int(truth["frames"])  # type: ignore[call-overload]
    rtp, sip = truth["rtp_packets"], truth["sip_messages"]
    print(f"file {pcap.name}: {pcap.stat().st_size / 1e6:,.1f} MB, {frames:,} frames, "
          f"{rtp:,} RTP packets, {sip:,} SIP messages")  # fmt: skip
    calltrace = str(BIN / "calltrace")
    ours = [calltrace, "analyze", str(pcap), "--no-store", "--heuristic-rtp", "--json"]
    runs: list[tuple[str, list[str], dict[str, str] | None]] = [
        ("calltrace analyze (bulk lane)", ours, None)
    ]
    if "scalar" not in args.skip:
        env = dict(os.environ, CALLTRACE_NO_BULK="1")
        runs.append(("calltrace analyze (CALLTRACE_NO_BULK=1)", ours, env))
    tshark = shutil.which("tshark")
    if tshark and "tshark" not in args.skip:
        cmd = [tshark, "-q", "-o", "rtp.heuristic_rtp:TRUE", "-z", "rtp,streams", "-r", str(pcap)]
        runs.append(("tshark -z rtp,streams", cmd, None))
    results = {label: timed(cmd, env) for label, cmd, env in runs}
    base = results.get("tshark -z rtp,streams")

    print(f"\n{'run':42} {'wall s':>8} {'cpu s':>8} {'packets/s':>12} {'vs tshark':>10}")
    for label, got in results.items():
        if got is None:
            print(f"{label:42} {'failed':>8}")
            continue
        wall, cpu, _ = got
        ratio = f"{base[0] / wall:.2f}x" if base else "-"
        print(f"{label:42} {wall:8.2f} {cpu:8.2f} {frames / wall:12,.0f} {ratio:>10}")
    print(f"\n(cores: {os.cpu_count()}, python {sys.version.split()[0]}; "
          "'vs tshark' = tshark wall time / this run's wall time)")  # fmt: skip
    bulk = results["calltrace analyze (bulk lane)"]
    if base is not None and bulk is not None:
        streams = json.loads(bulk[2])["rtp_streams"]
        theirs = tshark_rows(base[2])
        problems = compare(streams, theirs)
        print(f"figures: {len(theirs)} tshark streams, {len(streams)} ours, "
              f"{len(problems)} differences")  # fmt: skip
        for line in problems[:20]:
            print("  " + line)
    scalar = results.get("calltrace analyze (CALLTRACE_NO_BULK=1)")
    if scalar is not None and bulk is not None:
        same = agree(json.loads(scalar[2])["rtp_streams"], json.loads(bulk[2])["rtp_streams"])
        print(f"bulk lane and per-record path give the same rtp_streams (floats to 1e-9): {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

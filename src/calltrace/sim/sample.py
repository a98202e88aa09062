"""Build the bundled demo capture: ``python -m calltrace.sim.sample --out PATH``.

The sample is generated, never hand-edited: running this module again gives the same
bytes (tests check the sha256 against the committed file). It writes the capture and
``<name>.truth.json`` beside it (counts and one record per call and registration).
Changing the generator changes the sample: regenerate it and commit both files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Final

from calltrace.sim.engine import SimConfig
from calltrace.sim.scenarios import simulation
from calltrace.sim.wire import WireOptions
from calltrace.sources.pcapwriter import WriteResult, write_simulation

SAMPLE_PATH: Final = Path(__file__).resolve().parent.parent / "data" / "sample.pcap"
SAMPLE_CONFIG: Final = SimConfig(
    seed=2026,
    duration=240.0,
    rtp=True,
    detail=True,
    wire=WireOptions(rtp_jitter_ms=2.0, rtp_loss=0.005, tcp_coalesce=0.5, tcp_split=0.5),
)


def truth_path_for(pcap: Path) -> Path:
    """``sample.pcap`` -> ``sample.truth.json``."""
    return pcap.with_name(pcap.stem + ".truth.json")


#: The demo's normal office day with three attacks mixed in, so ``make demo`` has
#: something to find: a SIPVicious scan, a password guesser and a wangiri one-ring burst.
SAMPLE_SCENARIOS: Final = ("demo", "scanner_user_agent", "auth_bruteforce", "wangiri")


def build(out: Path = SAMPLE_PATH) -> WriteResult:
    """Write the sample capture to ``out`` and its truth beside it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    sim = simulation(list(SAMPLE_SCENARIOS), SAMPLE_CONFIG)
    return write_simulation(sim, out, truth_path=truth_path_for(out))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=SAMPLE_PATH, help="capture path to write")
    args = parser.parse_args(argv)
    result = build(args.out)
    print(f"{result.path}: {result.frames} frames, {result.size} bytes; truth {result.truth_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

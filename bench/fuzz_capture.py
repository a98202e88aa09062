"""Long fuzz run of the capture decoders: CaptureReader and FrameDecoder.

A seeded random mutator (byte flips, overwrites with boundary values, inserts, deletes,
truncation, splices, pure random bytes) over real inputs: the corpus captures (whole small
files and the heads of large ones) for the reader, and every corpus frame for the frame
decoder. The invariant checked is the house fuzz invariant: every input decodes or gives a
DecodeError; anything else is a crash, printed with the seed and input index to replay it.

    .venv/bin/python bench/fuzz_capture.py --inputs 1000000 --target all

With ``--engine atheris`` (needs ``pip install atheris``) the same invariant is checked by
libFuzzer's coverage-guided mutation instead, seeded with the corpus inputs:

    .venv/bin/python bench/fuzz_capture.py --engine atheris --target frames --inputs 1000000
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import time
import traceback
from pathlib import Path

from calltrace.decode.frames import FrameDecoder
from calltrace.decode.pcap import CaptureReader
from calltrace.errors import DecodeError
from calltrace.model import CaptureRecord, Packet

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("CALLTRACE_CORPUS", ROOT / ".." / "shared" / "corpus"))
INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x45, 0x60, 0x08, 0x11, 0x06, 0x84, 0x2F, 0x0D, 0x0A]
LINK_TYPES = [1, 113, 276, 101, 228, 229, 0, 108, 12, 14, 147]


def mutate(rnd: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    """One to four random edits of ``data``."""
    buf = bytearray(data)
    for _ in range(rnd.randint(1, 4)):
        op = rnd.randrange(8)
        n = len(buf)
        if op == 0 and n:
            buf[rnd.randrange(n)] ^= 1 << rnd.randrange(8)
        elif op == 1 and n:
            buf[rnd.randrange(n)] = rnd.choice(INTERESTING)
        elif op == 2:
            at = rnd.randint(0, n)
            buf[at:at] = rnd.randbytes(rnd.randint(1, 8))
        elif op == 3 and n:
            at = rnd.randrange(n)
            del buf[at : at + rnd.randint(1, 16)]
        elif op == 4 and n:
            del buf[rnd.randrange(n) :]
        elif op == 5 and pool:
            other = rnd.choice(pool)
            at = rnd.randint(0, n)
            buf[at:] = other[rnd.randint(0, len(other)) :]
        elif op == 6 and n >= 2:
            at = rnd.randrange(n - 1)
            value = rnd.choice([0, 0xFFFF, 0x8000, 20, 40, rnd.randrange(0x10000)])
            buf[at : at + 2] = value.to_bytes(2, "big")
        elif op == 7:
            buf = bytearray(rnd.randbytes(rnd.randint(0, 200)))
    return bytes(buf)


def load_inputs() -> tuple[list[bytes], list[CaptureRecord]]:
    files: list[bytes] = []
    frames: list[CaptureRecord] = []
    if CORPUS.is_dir():
        for path in sorted([*CORPUS.glob("pcap/*/*"), *CORPUS.glob("derived/*")]):
            raw = path.read_bytes()
            files.append(raw[:2000])
            reader = CaptureReader()
            reader.feed(raw)
            frames.extend(e for e in reader.events() if isinstance(e, CaptureRecord))
    if not files:
        print("corpus not found: fuzzing random bytes only", file=sys.stderr)
        files = [b"\xd4\xc3\xb2\xa1" + bytes(40)]
        frames = [
            CaptureRecord(number=1, ts=0.0, interface=0, link_type=1, orig_len=60, data=bytes(60))
        ]
    return files, frames


class Stats:
    def __init__(self, name: str) -> None:
        self.name = name
        self.inputs = 0
        self.events = 0
        self.errors: collections.Counter[str] = collections.Counter()
        self.crashes: collections.Counter[str] = collections.Counter()
        self.start = time.perf_counter()

    def crash(self, seed: int, index: int, data: bytes) -> None:
        exc = traceback.format_exc(limit=-3)
        key = exc.strip().splitlines()[-1]
        if not self.crashes[key]:
            print(f"CRASH in {self.name} (seed {seed}, input {index}, {len(data)} bytes):\n{exc}")
            print(f"input hex: {data[:400].hex()}")
        self.crashes[key] += 1

    def report(self) -> None:
        took = time.perf_counter() - self.start
        print(
            f"== {self.name}: {self.inputs} inputs in {took:.1f} s, {self.events} events, "
            f"{sum(self.errors.values())} decode errors, {sum(self.crashes.values())} crashes"
        )
        for kind, count in self.errors.most_common():
            print(f"   {kind:40s} {count}")
        for kind, count in self.crashes.items():
            print(f"   CRASH {kind} x{count}")


def fuzz_reader(n: int, seed: int, files: list[bytes]) -> Stats:
    stats = Stats("CaptureReader")
    rnd = random.Random(seed)
    for i in range(n):
        data = mutate(rnd, rnd.choice(files), files)
        # one-byte feeding is slow in Python, so it is kept for short inputs
        chunk = rnd.choice([1 if len(data) < 300 else 7, 64, 512, 1 << 20])
        reader = CaptureReader()
        try:
            for at in range(0, len(data), chunk):
                reader.feed(data[at : at + chunk])
                while True:
                    try:
                        stats.events += sum(1 for _ in reader.events())
                        break
                    except DecodeError as err:  # pcapng may go on after a bad trailer
                        stats.errors[f"{err.layer}/{err.kind}"] += 1
                        if err.kind != "block_length_mismatch":
                            break
            reader.close()
        except DecodeError as err:
            stats.errors[f"{err.layer}/{err.kind}"] += 1
        except Exception:
            stats.crash(seed, i, data)
        stats.inputs += 1
    return stats


def fuzz_frames(n: int, seed: int, frames: list[CaptureRecord]) -> Stats:
    stats = Stats("FrameDecoder")
    rnd = random.Random(seed)
    pool = [f.data for f in frames[:2000]]
    decoder = FrameDecoder(max_tcp_streams=256, max_fragment_sets=64, max_stream_buffer=1 << 16)
    ts = 0.0
    for i in range(n):
        base = rnd.choice(frames)
        data = mutate(rnd, base.data, pool)
        link = base.link_type if rnd.random() < 0.9 else rnd.choice(LINK_TYPES)
        ts += rnd.random() * 0.5
        rec = CaptureRecord(
            number=i + 1, ts=ts, interface=0, link_type=link, orig_len=len(data), data=data
        )
        try:
            items = decoder.decode(rec)
            if i % 50_000 == 49_999:
                items += decoder.flush()
            for item in items:
                if isinstance(item, Packet):
                    stats.events += 1
                elif isinstance(item, DecodeError):
                    stats.errors[f"{item.layer}/{item.kind}"] += 1
                else:
                    raise TypeError(f"decode returned {type(item).__name__}")
        except Exception:
            stats.crash(seed, i, data)
        stats.inputs += 1
    return stats


def run_atheris(n: int, target: str, files: list[bytes], frames: list[CaptureRecord]) -> int:
    """Coverage-guided run: the first input byte picks the link type (frames target)."""
    import tempfile

    import atheris  # type: ignore[import-not-found]

    def one_capture(data: bytes) -> None:
        reader = CaptureReader()
        try:
            reader.feed(data)
            for _ in reader.events():
                pass
            reader.close()
        except DecodeError:
            pass

    decoder = FrameDecoder(max_tcp_streams=256, max_fragment_sets=64, max_stream_buffer=1 << 16)

    def one_frame(data: bytes) -> None:
        if not data:
            return
        link = LINK_TYPES[data[0] % len(LINK_TYPES)]
        rec = CaptureRecord(
            number=1, ts=0.0, interface=0, link_type=link, orig_len=0, data=data[1:]
        )
        for item in decoder.decode(rec):
            if not isinstance(item, Packet | DecodeError):
                raise TypeError(type(item).__name__)

    seeds = tempfile.mkdtemp(prefix="fuzz_capture_")
    if target == "pcap":
        inputs = files
    else:
        inputs = [bytes([LINK_TYPES.index(f.link_type)]) + f.data for f in frames[:5000]]
    for i, data in enumerate(inputs):
        Path(seeds, f"seed{i}").write_bytes(data)
    atheris.instrument_all()  # coverage feedback for the already-imported decoders
    atheris.Setup(
        [sys.argv[0], f"-runs={n}", "-max_len=4096", seeds],
        one_capture if target == "pcap" else one_frame,
    )
    atheris.Fuzz()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inputs", type=int, default=1_000_000, help="inputs per decoder")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target", choices=["pcap", "frames", "all"], default="all")
    parser.add_argument("--engine", choices=["random", "atheris"], default="random")
    args = parser.parse_args()
    files, frames = load_inputs()
    if args.engine == "atheris":
        if args.target == "all":
            parser.error("--engine atheris runs one --target at a time")
        return run_atheris(args.inputs, args.target, files, frames)
    results = []
    if args.target in ("pcap", "all"):
        results.append(fuzz_reader(args.inputs, args.seed, files))
        results[-1].report()
    if args.target in ("frames", "all"):
        results.append(fuzz_frames(args.inputs, args.seed, frames))
        results[-1].report()
    return 1 if any(r.crashes for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

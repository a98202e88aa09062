"""Long fuzz run for the media decoders and tracker: a seeded byte mutator over RTP/RTCP seeds.

Invariant: parse_rtp, parse_rtcp and parse_telephone_event decode or raise DecodeError;
looks_like_rtp and MediaTracker.observe never raise. Anything else is printed with a
reproducer (hex) and counted. Usage::

    .venv/bin/python bench/fuzz_media.py [--n 1000000] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import struct
import time
from collections.abc import Callable

from calltrace.decode.rtcp import parse_rtcp
from calltrace.decode.rtp import looks_like_rtp, parse_rtp, parse_telephone_event
from calltrace.errors import DecodeError
from calltrace.model import Packet
from calltrace.trace.media import MediaTracker

RTP_SEEDS = [
    struct.pack("!BBHII", 0x80, 0, 1, 160, 7) + b"\xff" * 160,
    struct.pack("!BBHII", 0x92, 0x80 | 111, 9, 960, 8)
    + struct.pack("!II", 1, 2)
    + struct.pack("!HH", 0xBEDE, 2)
    + bytes([0x10, 1, 0x22, 1, 2, 3, 0, 0])
    + b"o" * 40,
    struct.pack("!BBHII", 0xB0, 101, 3, 800, 9)
    + struct.pack("!HH", 0x1000, 1)
    + bytes([5, 2, 1, 2])
    + bytes([5, 0x8A, 1, 0xE0])
    + b"\x00\x00\x03",
]
RTCP_SEEDS = [
    struct.pack("!BBHIQIII", 0x81, 200, 12, 1, 2, 3, 4, 5)
    + struct.pack("!IIIIII", 6, 7, 8, 9, 10, 11)
    + struct.pack("!BBHI", 0x81, 202, 3, 1)
    + bytes([1, 5])
    + b"alice\x00"
    + struct.pack("!BBHI", 0x81, 203, 2, 1)
    + bytes([3])
    + b"bye",
    struct.pack("!BBHI", 0x80, 207, 10, 5) + struct.pack("!BBH", 7, 0, 8) + bytes(range(32)),
    struct.pack("!BBHI", 0x83, 204, 3, 5) + b"NAMEdata",
]


def mutate(rng: random.Random, seed: bytes) -> bytes:
    """Flip, overwrite, insert, delete or cut a few bytes."""
    data = bytearray(seed)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[min(pos, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and data:
            data[min(pos, len(data) - 1)] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
        elif op == 2:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 3 and data:
            del data[pos : pos + rng.randint(1, 8)]
        else:
            data = data[:pos]
    return bytes(data)


def run(
    name: str, fn: Callable[[bytes], object], seeds: list[bytes], n: int, rng: random.Random
) -> int:
    bad = 0
    ok = raised = 0
    start = time.process_time()
    for _ in range(n):
        data = mutate(rng, rng.choice(seeds))
        try:
            fn(data)
            ok += 1
        except DecodeError:
            raised += 1
        except Exception as exc:
            bad += 1
            print(f"{name}: {type(exc).__name__}: {exc} input={data.hex()}")
    cpu = time.process_time() - start
    print(f"{name}: {n} inputs, {ok} decoded, {raised} DecodeError, {bad} other, {cpu:.1f} s CPU")
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tracker = MediaTracker(heuristic=True, idle_timeout=5.0)
    tracker.expect("10.0.0.2", 5000, {96: "opus/48000/2", 101: "telephone-event/8000"})
    clock = [0.0]

    def observe(data: bytes) -> None:
        clock[0] += 0.001
        tracker.observe(
            Packet(
                number=1,
                ts=clock[0],
                src_ip="10.0.0.1",
                src_port=4000,
                dst_ip="10.0.0.2",
                dst_port=5000 + rng.randrange(3),
                transport="udp",
                payload=data,
            )
        )

    bad = run("parse_rtp", parse_rtp, RTP_SEEDS, args.n, rng)
    bad += run("looks_like_rtp", looks_like_rtp, RTP_SEEDS + RTCP_SEEDS, args.n, rng)
    bad += run(
        "parse_telephone_event", parse_telephone_event, [s[12:] for s in RTP_SEEDS], args.n, rng
    )
    bad += run("parse_rtcp", parse_rtcp, RTCP_SEEDS, args.n, rng)
    bad += run("MediaTracker.observe", observe, RTP_SEEDS + RTCP_SEEDS, args.n, rng)
    print(f"streams: {len(tracker.close())}; errors by kind: {tracker.errors}")
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()

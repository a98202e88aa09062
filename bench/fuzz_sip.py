"""Long fuzz run for the SIP/SDP decoders: a seeded mutator over the RFC 4475/5118
messages (atheris is not used: it needs a libFuzzer toolchain this machine lacks).

Invariant: every input decodes or raises DecodeError; anything else is printed with a
reproducer (hex) and counted. Usage::

    .venv/bin/python bench/fuzz_sip.py [--n 1000000] [--seed 1] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from calltrace.decode.sdp import parse_sdp
from calltrace.decode.sip import looks_like_sip, parse_sip
from calltrace.decode.sipvalues import parse_name_addr, parse_uri, parse_via
from calltrace.errors import DecodeError
from calltrace.model import Packet

TOKENS = [
    b"\r\n",
    b"\n",
    b" ",
    b"\t",
    b";",
    b",",
    b'"',
    b"\\",
    b"<",
    b">",
    b"[",
    b"]",
    b":",
    b"@",
    b"%",
    b"%00",
    b"=",
    b"?",
    b"\x00",
    b"\xff",
    b"SIP/2.0",
    b"z9hG4bK",
    b"Content-Length: ",
    b"9999999999999",
    b"-1",
    b"\r\n\r\n",
    b"\r\n ",
    b"m=",
    b"c=IN IP6 ",
]


def _seeds(corpus: Path) -> list[bytes]:
    files = sorted((corpus / "rfc4475").glob("*.dat")) + sorted(
        p for p in (corpus / "rfc5118").iterdir() if p.name != "INDEX.tsv"
    )
    return [p.read_bytes() for p in files]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(6)
        pos = rng.randint(0, len(buf))
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif op == 1:
            del buf[pos : pos + rng.randint(1, 40)]
        elif op == 2:
            buf[pos:pos] = rng.choice(TOKENS)
        elif op == 3:
            buf = buf[:pos]
        elif op == 4 and buf:
            start = rng.randrange(len(buf))
            buf[pos:pos] = buf[start : start + rng.randint(1, 80)]
        else:
            buf = bytearray(bytes(buf).replace(b"\r\n", rng.choice([b"\n", b"\r\n ", b"\r"]), 3))
    return bytes(buf)


def _run(name: str, func: Callable[[bytes], object], inputs: Callable[[], bytes], n: int) -> int:
    ok = errors = crashes = 0
    start = time.perf_counter()
    for _ in range(n):
        data = inputs()
        try:
            func(data)
            ok += 1
        except DecodeError:
            errors += 1
        except Exception:  # the point: anything that is not a DecodeError is a bug
            crashes += 1
            if crashes <= 5:
                print(f"CRASH in {name}: input hex={data[:400].hex()}")
                traceback.print_exc()
    elapsed = time.perf_counter() - start
    print(
        f"{name:16} inputs={n} decoded={ok} decode_errors={errors} crashes={crashes} "
        f"({elapsed:.1f} s, {n / elapsed:.0f}/s)",
        flush=True,
    )
    return crashes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    default = os.environ.get(
        "CALLTRACE_CORPUS", str(Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus")
    )
    parser.add_argument("--corpus", type=Path, default=Path(default))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    seeds = _seeds(args.corpus)
    bodies = [
        s[s.find(b"\n\n") + 2 :] if b"\r\n\r\n" not in s else s[s.find(b"\r\n\r\n") + 4 :]
        for s in seeds
    ]
    bodies = [b for b in bodies if b.startswith(b"v=")]
    values = [
        line.split(b":", 1)[1]
        for s in seeds
        for line in s.split(b"\n")
        if b":" in line and line[:1].isalpha()
    ][:400]

    def sip_input() -> bytes:
        return _mutate(rng, rng.choice(seeds))

    def sip(data: bytes) -> object:
        looks_like_sip(data)
        return parse_sip(
            Packet(
                number=1,
                ts=0.0,
                src_ip="a",
                src_port=1,
                dst_ip="b",
                dst_port=2,
                transport=rng.choice(["udp", "tcp"]),
                payload=data,
            )
        )

    def value_input() -> bytes:
        return _mutate(rng, rng.choice(values))

    def text(func: Callable[[str], object]) -> Callable[[bytes], object]:
        return lambda data: func(data.decode("utf-8", "replace"))

    crashes = _run("parse_sip", sip, sip_input, args.n)
    crashes += _run("parse_sdp", parse_sdp, lambda: _mutate(rng, rng.choice(bodies)), args.n)
    crashes += _run("parse_uri", text(parse_uri), value_input, args.n)
    crashes += _run("parse_name_addr", text(parse_name_addr), value_input, args.n)
    crashes += _run("parse_via", text(parse_via), value_input, args.n)
    print(f"total crashes: {crashes}")


if __name__ == "__main__":
    main()

"""Parse speed of calltrace.decode.sip on generated, realistic messages.

Prints µs per message for a ~770-byte INVITE with SDP, a 100 Trying, a 200 OK, an ACK
and a BYE, on the pure-Python path and on the native fast path (when built), plus
looks_like_sip on SIP and RTP payloads. Times are CPU time (``time.process_time``), best
of several repeats, so other jobs on a shared machine disturb them less.
Run: ``.venv/bin/python bench/bench_sip_parse.py [--repeat 7]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from calltrace.decode import sip
from calltrace.decode.sdp import parse_sdp
from calltrace.model import Packet

SDP = (
    "v=0\r\no=alice 2890844526 2890844526 IN IP4 198.51.100.7\r\ns=-\r\n"
    "c=IN IP4 198.51.100.7\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
)
INVITE = (
    "INVITE sip:+4930123456@carrier.example.net SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK776asdhds;rport\r\n"
    "Max-Forwards: 70\r\n"
    'From: "Alice" <sip:+14155550100@pbx.example.com>;tag=1928301774\r\n'
    "To: <sip:+4930123456@carrier.example.net>\r\n"
    "Call-ID: a84b4c76e66710@pbx.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:+14155550100@198.51.100.7:5060>\r\n"
    "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY\r\n"
    "Supported: replaces, timer\r\n"
    "User-Agent: Asterisk PBX 18.10.0\r\n"
    "Content-Type: application/sdp\r\n"
    f"Content-Length: {len(SDP)}\r\n\r\n{SDP}"
).encode()
OK200 = (
    b"SIP/2.0 200 OK\r\n"
    b"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK776asdhds;rport=5060\r\n"
    b'From: "Alice" <sip:+14155550100@pbx.example.com>;tag=1928301774\r\n'
    b"To: <sip:+4930123456@carrier.example.net>;tag=a6c85cf\r\n"
    b"Call-ID: a84b4c76e66710@pbx.example.com\r\nCSeq: 314159 INVITE\r\n"
    b"Contact: <sip:+4930123456@203.0.113.9>\r\nServer: CarrierSBC\r\nContent-Length: 0\r\n\r\n"
)
TRYING = (
    b"SIP/2.0 100 Trying\r\n"
    b"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK776asdhds;rport=5060\r\n"
    b'From: "Alice" <sip:+14155550100@pbx.example.com>;tag=1928301774\r\n'
    b"To: <sip:+4930123456@carrier.example.net>\r\n"
    b"Call-ID: a84b4c76e66710@pbx.example.com\r\nCSeq: 314159 INVITE\r\n"
    b"Server: CarrierSBC\r\nContent-Length: 0\r\n\r\n"
)
BYE = (
    b"BYE sip:+4930123456@203.0.113.9 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK776asdhdu\r\nMax-Forwards: 70\r\n"
    b"From: <sip:+14155550100@pbx.example.com>;tag=1928301774\r\n"
    b"To: <sip:+4930123456@carrier.example.net>;tag=a6c85cf\r\n"
    b"Call-ID: a84b4c76e66710@pbx.example.com\r\nCSeq: 314160 BYE\r\n"
    b"User-Agent: Asterisk PBX 18.10.0\r\nContent-Length: 0\r\n\r\n"
)
ACK = (
    b"ACK sip:+4930123456@203.0.113.9 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK776asdhdt\r\nMax-Forwards: 70\r\n"
    b"From: <sip:+14155550100@pbx.example.com>;tag=1928301774\r\n"
    b"To: <sip:+4930123456@carrier.example.net>;tag=a6c85cf\r\n"
    b"Call-ID: a84b4c76e66710@pbx.example.com\r\nCSeq: 314159 ACK\r\nContent-Length: 0\r\n\r\n"
)
RTP = bytes([0x80, 0x00, 0x12, 0x34]) + bytes(168)


def _packet(payload: bytes) -> Packet:
    return Packet(
        number=1,
        ts=0.0,
        src_ip="198.51.100.7",
        src_port=5060,
        dst_ip="203.0.113.9",
        dst_port=5060,
        transport="udp",
        payload=payload,
    )


def _per_call_us(func: Callable[[Any], object], arg: object, number: int, repeat: int) -> float:
    """Best CPU time per call over ``repeat`` runs of ``number`` calls, in µs."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(number):
            func(arg)
        best = min(best, time.process_time() - start)
    return best / number * 1e6


MESSAGES = (
    ("INVITE+SDP", INVITE),
    ("100 Trying", TRYING),
    ("200 OK", OK200),
    ("ACK", ACK),
    ("BYE", BYE),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000, help="calls per repeat")
    parser.add_argument("--repeat", type=int, default=5, help="repeats (the best is kept)")
    args = parser.parse_args()
    n, r = args.number, args.repeat
    pure, native = sip.parse_sip_pure, sip.parse_sip if sip.FAST else None
    print(f"native fast path: {'active' if sip.FAST else 'not active (pure Python only)'}")
    print(
        f"{'parse_sip':22} {'bytes':>5} {'pure µs':>8} {'fast µs':>8} {'fast msg/s':>11} {'×':>5}"
    )
    for name, payload in MESSAGES:
        packet = _packet(payload)
        us = _per_call_us(pure, packet, n, r)
        if native is None:
            print(f"  {name:20} {len(payload):5d} {us:8.2f}")
            continue
        fast = _per_call_us(native, packet, n, r)
        print(
            f"  {name:20} {len(payload):5d} {us:8.2f} {fast:8.2f} {1e6 / fast:11,.0f}"
            f" {us / fast:5.1f}"
        )
    sdp = SDP.encode()
    print(f"parse_sdp              {len(sdp):5d} {_per_call_us(parse_sdp, sdp, n, r):8.2f}")
    for name, payload in (("SIP", INVITE), ("RTP", RTP)):
        us = _per_call_us(sip.looks_like_sip_pure, payload, n * 5, r)
        fast = _per_call_us(sip.looks_like_sip, payload, n * 5, r)
        print(f"looks_like_sip {name:7} {'':5} {us:8.3f} {fast:8.3f}")


if __name__ == "__main__":
    main()

"""Parse speed of calltrace.decode.sip on generated, realistic messages.

Prints µs per message for a ~700-byte INVITE with SDP, a 200 OK, a short ACK, plus
looks_like_sip on SIP and RTP payloads. Run: ``.venv/bin/python bench/bench_sip_parse.py``.
"""

from __future__ import annotations

import timeit

from calltrace.decode.sdp import parse_sdp
from calltrace.decode.sip import looks_like_sip, parse_sip
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


def _per_call_us(func: object, arg: object, number: int) -> float:
    timer = timeit.Timer(lambda: func(arg))  # type: ignore[operator]
    return min(timer.repeat(repeat=5, number=number)) / number * 1e6


def main() -> None:
    n = 20000
    for name, payload in (("INVITE+SDP", INVITE), ("200 OK", OK200), ("ACK", ACK)):
        us = _per_call_us(parse_sip, _packet(payload), n)
        print(f"parse_sip {name:11} {len(payload):4d} B  {us:6.2f} µs  {1e6 / us:9.0f} msg/s")
    print(
        f"parse_sdp           {len(SDP):4d} B  {_per_call_us(parse_sdp, SDP.encode(), n):6.2f} µs"
    )
    for name, payload in (("SIP", INVITE), ("RTP", RTP)):
        us = _per_call_us(looks_like_sip, payload, n * 5)
        print(f"looks_like_sip {name}          {us:6.3f} µs")


if __name__ == "__main__":
    main()

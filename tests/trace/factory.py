"""Build SipMessage objects from SIP text for the trace tests.

Every message goes through the real decoder (:func:`calltrace.decode.sip.parse_sip`), so
the tracker is tested on what the pipeline will hand it. :class:`Leg` writes the usual
RFC 3261 §24.2 call flow between a caller A and a callee B with a few keyword choices;
:func:`sip` takes any text for the odd cases.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from calltrace.decode.sip import parse_sip
from calltrace.model import Packet, SipMessage

A = "10.0.0.1:5060"
B = "10.0.0.2:5060"


def sip(
    text: str, *, ts: float, src: str = A, dst: str = B, number: int = 1, transport: str = "udp"
) -> SipMessage:
    """Parse SIP ``text`` (LF line ends allowed; Content-Length is computed)."""
    head, _, body = text.strip("\n").partition("\n\n")
    lines = [line for line in head.split("\n") if not line.lower().startswith("content-length")]
    raw_body = body.replace("\n", "\r\n").encode() if body else b""
    lines.append(f"Content-Length: {len(raw_body)}")
    payload = ("\r\n".join(lines) + "\r\n\r\n").encode() + raw_body
    src_ip, src_port = src.rsplit(":", 1)
    dst_ip, dst_port = dst.rsplit(":", 1)
    packet = Packet(
        number=number, ts=ts, src_ip=src_ip, src_port=int(src_port), dst_ip=dst_ip,
        dst_port=int(dst_port), transport=transport, payload=payload,
    )  # fmt: skip
    return parse_sip(packet)


def sdp(ip: str, port: int, *codecs: tuple[int, str], direction: str = "sendrecv") -> str:
    """An SDP body (RFC 4566) with one audio m= line."""
    pts = " ".join(str(pt) for pt, _ in codecs)
    maps = "".join(f"a=rtpmap:{pt} {name}\n" for pt, name in codecs)
    return (
        f"v=0\no=- 1 1 IN IP4 {ip}\ns=-\nc=IN IP4 {ip}\nt=0 0\n"
        f"m=audio {port} RTP/AVP {pts}\n{maps}a={direction}\n"
    )


class Leg:
    """One call between caller A and callee B, message by message, numbering frames."""

    def __init__(
        self, call_id: str = "call-1@a.example", *, caller: str = "1001", callee: str = "2002",
        from_tag: str = "ftag1", a: str = A, b: str = B, frames: Iterable[int] | None = None,
    ) -> None:  # fmt: skip
        self.call_id = call_id
        self.caller = caller
        self.callee = callee
        self.from_tag = from_tag
        self.a = a
        self.b = b
        self.frames = iter(frames) if frames is not None else itertools.count(1)

    def invite(
        self, ts: float, *, cseq: int = 1, branch: str = "z9hG4bKinv1", to_tag: str | None = None,
        extra: str = "", body: str = "", src: str | None = None, dst: str | None = None,
    ) -> SipMessage:  # fmt: skip
        """An INVITE from A (initial unless ``to_tag``)."""
        return self.request("INVITE", ts, cseq=cseq, branch=branch, to_tag=to_tag,
                            extra=extra, body=body, src=src, dst=dst)  # fmt: skip

    def request(
        self, method: str, ts: float, *, cseq: int = 1, branch: str = "z9hG4bKreq",
        to_tag: str | None = None, from_callee: bool = False, cseq_method: str | None = None,
        extra: str = "", body: str = "", src: str | None = None, dst: str | None = None,
    ) -> SipMessage:  # fmt: skip
        """Any request; ``from_callee`` swaps From/To and the direction (B hangs up)."""
        ctype = "Content-Type: application/sdp\n" if body else ""
        a_uri = f"<sip:{self.caller}@a.example>;tag={self.from_tag}"
        b_uri = f"<sip:{self.callee}@b.example>" + (f";tag={to_tag}" if to_tag else "")
        sender, target = (b_uri, a_uri) if from_callee else (a_uri, b_uri)
        ruri_user = self.caller if from_callee else self.callee
        src = src or (self.b if from_callee else self.a)
        dst = dst or (self.a if from_callee else self.b)
        text = (
            f"{method} sip:{ruri_user}@b.example SIP/2.0\n"
            f"Via: SIP/2.0/UDP {src};branch={branch}\n"
            f"Max-Forwards: 70\nFrom: {sender}\nTo: {target}\nCall-ID: {self.call_id}\n"
            f"CSeq: {cseq} {cseq_method or method}\nUser-Agent: PhoneA/1.0\n"
            f"Contact: <sip:{self.caller}@{self.a}>\n{extra}{ctype}"
        )
        if body:
            text += "\n" + body
        return sip(text, ts=ts, src=src, dst=dst, number=next(self.frames))

    def response(
        self, req: SipMessage, status: int, reason: str, ts: float, *, to_tag: str | None = None,
        extra: str = "", body: str = "", src: str | None = None, dst: str | None = None,
    ) -> SipMessage:  # fmt: skip
        """The response to ``req``, copying Via/From/To/Call-ID/CSeq (RFC 3261 §8.2.6.2)."""
        to = req.header("to") or ""
        if to_tag and ";tag=" not in to:
            to += f";tag={to_tag}"
        vias = "".join(f"Via: {v}\n" for v in req.header_all("via"))
        ctype = "Content-Type: application/sdp\n" if body else ""
        text = (
            f"SIP/2.0 {status} {reason}\n{vias}From: {req.header('from')}\nTo: {to}\n"
            f"Call-ID: {req.call_id}\nCSeq: {req.header('cseq')}\nServer: PbxB/2.0\n{extra}{ctype}"
        )
        if body:
            text += "\n" + body
        p = req.packet
        src = src or f"{p.dst_ip}:{p.dst_port}"
        dst = dst or f"{p.src_ip}:{p.src_port}"
        return sip(text, ts=ts, src=src, dst=dst, number=next(self.frames))

    def again(self, msg: SipMessage, ts: float) -> SipMessage:
        """The same bytes sent again on the same hop (a retransmission), a new frame."""
        p = msg.packet
        packet = Packet(
            number=next(self.frames), ts=ts, src_ip=p.src_ip, src_port=p.src_port,
            dst_ip=p.dst_ip, dst_port=p.dst_port, transport=p.transport, payload=p.payload,
        )  # fmt: skip
        return parse_sip(packet)

    def hop(self, msg: SipMessage, ts: float, src: str, dst: str) -> SipMessage:
        """The same bytes captured on another hop (other addresses), a new frame."""
        src_ip, src_port = src.rsplit(":", 1)
        dst_ip, dst_port = dst.rsplit(":", 1)
        packet = Packet(
            number=next(self.frames), ts=ts, src_ip=src_ip, src_port=int(src_port),
            dst_ip=dst_ip, dst_port=int(dst_port), transport="udp", payload=msg.packet.payload,
        )  # fmt: skip
        return parse_sip(packet)

"""A call's media summary, from its SDP and its RTP streams.

Calls and streams finish at different times (a call is handed out 32 s after its BYE,
a stream after 60 s of silence, either may come first), so the summary is not kept by a
tracker: it is computed when both are at hand, by Call-ID, from a call and its streams as
plain mappings (``model.record_dict`` of the records, or rows of the store), by the JSON
document and by ``calltrace show``. Pure: no clock, no I/O.

Rules (docs/media.md, "Per-call media summary"):

- **Who sent a stream**: the party whose SDP did *not* name its destination (RTP goes to
  where the other party said it receives); else the party whose SDP named its source
  (symmetric RTP, RFC 4961); else, for a stream to an address no SDP named (the return
  direction latched to a NAT address), the other party of the stream that came from it.
- **NAT**: a party's RTP came from an ``ip:port`` its SDP did not name.
- **One-way audio**: the call was answered, both parties are known senders or announced
  audio, and one party sent no RTP, or fewer than ``SILENT_SHARE`` (5 %) as many packets as
  the other once the other sent at least ``SILENT_MIN_PACKETS`` (50, one second of 20 ms
  packets). A hold explains a short silence: ``on_hold`` says whether one was signalled.
- **No media**: answered, and no stream of the call carried a packet.
- **Encryption**: the SDP's tokens (``decode.sdp.media_security``) and key exchange seen
  on the media path (ZRTP, DTLS: ``RtpStream.keying``).
- **RTP after BYE**: a stream's last packet later than the call's end plus
  ``AFTER_BYE_GRACE`` (2 s: packets in flight and a far end that has not yet processed the
  BYE are normal, seconds of audio are not).
- A Call-ID may be reused by a later call: a stream counts for a call when it starts no
  earlier than 1 s before the call and no later than its end plus the grace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from calltrace.model import CallMedia, LateStream, PartyMedia

__all__ = ["AFTER_BYE_GRACE", "SILENT_MIN_PACKETS", "SILENT_SHARE", "streams_of", "summarize"]

AFTER_BYE_GRACE: Final = 2.0
SILENT_SHARE: Final = 0.05
SILENT_MIN_PACKETS: Final = 50
HOLD_DIRECTIONS: Final = frozenset({"sendonly", "recvonly", "inactive"})
#: c= addresses that put a stream on hold rather than name where to send it (RFC 3264 §8.4)
HOLD_ADDRESSES: Final = frozenset({"0.0.0.0", "::"})
_ORDER: Final = ("srtp", "sdes", "dtls", "zrtp")
PARTIES: Final = ("caller", "callee")
_OTHER: Final = {"caller": "callee", "callee": "caller"}

Row = Mapping[str, Any]


def _ep(ip: object, port: object) -> str:
    return f"[{ip}]:{port}" if ":" in str(ip) else f"{ip}:{port}"


def streams_of(call: Row, streams: Iterable[Row]) -> list[Row]:
    """The streams that belong to ``call``: same Call-ID, started within its lifetime."""
    start = float(call["start"]) - 1.0
    end = call.get("end")
    limit = None if end is None else float(end) + AFTER_BYE_GRACE
    return [
        s
        for s in streams
        if s.get("call_id") == call["call_id"]
        and float(s["start"]) >= start
        and (limit is None or float(s["start"]) <= limit)
    ]


def summarize(call: Row, streams: Iterable[Row]) -> CallMedia:
    """The media summary of ``call`` from the streams tied to it (see the module rules).

    >>> call = {"call_id": "c", "start": 0.0, "answered": 1.0, "end": 10.0, "media": [
    ...     {"party": "caller", "ip": "10.0.0.1", "port": 4000, "direction": "sendrecv",
    ...      "security": []},
    ...     {"party": "callee", "ip": "10.0.0.2", "port": 5000, "direction": "sendrecv",
    ...      "security": []}]}
    >>> up = {"call_id": "c", "ssrc": 1, "src_ip": "192.0.2.9", "src_port": 31000,
    ...       "dst_ip": "10.0.0.2", "dst_port": 5000, "start": 1.0, "end": 9.9,
    ...       "packets": 445, "codec": "PCMU/8000", "mos": 4.4, "lost_pct": 0.0,
    ...       "max_jitter_ms": 1.5}
    >>> s = summarize(call, [up])
    >>> s.one_way_audio, s.silent_party, s.parties[0].nat, s.parties[0].rtp_from
    (True, 'callee', True, ('192.0.2.9:31000',))
    """
    mine = streams_of(call, streams)
    media = list(call.get("media") or ())
    announced: dict[str, set[str]] = {p: set() for p in PARTIES}
    order: dict[str, list[str]] = {p: [] for p in PARTIES}
    on_hold = False
    encryption: set[str] = set()
    for m in media:
        party = m.get("party")
        encryption.update(m.get("security") or ())
        if m.get("direction") in HOLD_DIRECTIONS or m.get("ip") in HOLD_ADDRESSES:
            on_hold = True
        if party in announced and m.get("ip") and m.get("port") and m["ip"] not in HOLD_ADDRESSES:
            ep = _ep(m["ip"], m["port"])
            if ep not in announced[party]:
                announced[party].add(ep)
                order[party].append(ep)
    senders = _senders(mine, announced)
    sent = {p: 0 for p in PARTIES}
    rtp_from: dict[str, list[str]] = {p: [] for p in PARTIES}
    for stream, party in zip(mine, senders, strict=True):
        encryption.update(stream.get("keying") or ())
        if party is None:
            continue
        sent[party] += int(stream["packets"])
        src = _ep(stream["src_ip"], stream["src_port"])
        if src not in rtp_from[party]:
            rtp_from[party].append(src)
    parties = tuple(
        PartyMedia(
            party=p, sdp=tuple(order[p]), rtp_from=tuple(rtp_from[p]), packets=sent[p],
            nat=any(src not in announced[p] for src in rtp_from[p]),
        )
        for p in PARTIES
        if order[p] or rtp_from[p]
    )  # fmt: skip
    answered = call.get("answered") is not None
    silent = _silent(sent) if answered else None
    return CallMedia(
        streams=len(mine),
        packets=sum(int(s["packets"]) for s in mine),
        codecs=_codecs(mine),
        parties=parties,
        worst_mos=min((s["mos"] for s in mine if s.get("mos") is not None), default=None),
        worst_loss_pct=max((max(float(s["lost_pct"]), 0.0) for s in mine), default=None),
        max_jitter_ms=max((float(s["max_jitter_ms"]) for s in mine), default=None),
        one_way_audio=silent is not None,
        silent_party=silent,
        no_media=answered and not any(int(s["packets"]) for s in mine),
        on_hold=on_hold,
        encryption=tuple(t for t in _ORDER if t in encryption),
        rtp_after_bye=_late(call, mine),
    )


def _codecs(streams: list[Row]) -> tuple[str, ...]:
    """Codecs in order of first use; encoding names are case-insensitive (RFC 4855 §3),
    so "PCMA/8000" and "pcma/8000" from the two parties' rtpmaps are one codec."""
    seen: dict[str, str] = {}
    for s in sorted(streams, key=lambda s: float(s["start"])):
        codec = s.get("codec")
        if codec:
            seen.setdefault(codec.upper(), codec)
    return tuple(seen.values())


def _senders(streams: list[Row], announced: dict[str, set[str]]) -> list[str | None]:
    """The sending party of each stream (module rules), None when it cannot be told."""
    out: list[str | None] = []
    for s in streams:
        dst, src = _ep(s["dst_ip"], s["dst_port"]), _ep(s["src_ip"], s["src_port"])
        if dst in announced["callee"]:
            out.append("caller")
        elif dst in announced["caller"]:
            out.append("callee")
        elif src in announced["caller"]:
            out.append("caller")
        elif src in announced["callee"]:
            out.append("callee")
        else:
            out.append(None)
    for i, s in enumerate(streams):  # return streams to a latched (NAT) address
        if out[i] is None:
            dst = _ep(s["dst_ip"], s["dst_port"])
            for j, other in enumerate(streams):
                party = out[j]
                if party is not None and _ep(other["src_ip"], other["src_port"]) == dst:
                    out[i] = _OTHER[party]
                    break
    return out


def _silent(sent: dict[str, int]) -> str | None:
    """The party that sent no (or next to no) RTP while the other talked, else None."""
    talking = [p for p in PARTIES if sent[p]]
    if not talking:
        return None  # no media at all is "no_media", not one-way
    if len(talking) == 1:
        return _OTHER[talking[0]]
    loud, quiet = sorted(PARTIES, key=lambda p: -sent[p])
    if sent[loud] >= SILENT_MIN_PACKETS and sent[quiet] < SILENT_SHARE * sent[loud]:
        return quiet
    return None


def _late(call: Row, streams: list[Row]) -> tuple[LateStream, ...]:
    end = call.get("end")
    if end is None or call.get("answered") is None:
        return ()
    limit = float(end) + AFTER_BYE_GRACE
    return tuple(
        LateStream(
            ssrc=int(s["ssrc"]), src=_ep(s["src_ip"], s["src_port"]),
            dst=_ep(s["dst_ip"], s["dst_port"]), end=float(s["end"]),
            after_s=round(float(s["end"]) - float(end), 6),
        )
        for s in streams
        if float(s["end"]) > limit
    )  # fmt: skip

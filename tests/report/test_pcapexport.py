"""A call's stored messages as a pcap that tshark reads back as the same SIP messages."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from calltrace.pipeline import analyze_chunks
from calltrace.report.pcapexport import pcap_bytes
from calltrace.sources.pcapfile import read_chunks
from calltrace.store.db import open_engine
from calltrace.store.queries import call_messages
from calltrace.store.writer import StoreSink

pytestmark = pytest.mark.tshark
SAMPLE = Path(__file__).resolve().parents[2] / "src" / "calltrace" / "data" / "sample.pcap"
FIELDS = ("sip.Method", "sip.Status-Code", "sip.CSeq", "sip.Call-ID", "ip.src", "ipv6.src",
          "udp.srcport", "tcp.srcport", "frame.time_epoch")  # fmt: skip


def sip_rows(tshark: str, path: Path, call_id: str | None = None) -> list[list[str]]:
    """tshark's SIP fields of every SIP frame (of one Call-ID), in frame order."""
    where = "sip" if call_id is None else f'sip.Call-ID == "{call_id}"'
    args = [tshark, "-r", str(path), "-Y", where, "-T", "fields",
            "-E", "separator=|", "-o", "tcp.analyze_sequence_numbers:TRUE"]  # fmt: skip
    for field in FIELDS:
        args += ["-e", field]
    out = subprocess.run(args, check=True, capture_output=True, text=True, timeout=60).stdout
    return [line.split("|") for line in out.splitlines()]


def message(
    ts: float, src: str, dst: str, transport: str, first_line: str, cseq: str
) -> dict[str, object]:
    raw = (f"{first_line}\r\nVia: SIP/2.0/{transport.upper()} h;branch=z9hG4bK1\r\n"
           f"From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: x-1@h\r\nCSeq: {cseq}\r\n"
           "Content-Length: 0\r\n\r\n").encode()  # fmt: skip
    src_ip, src_port = src.rsplit(":", 1)
    dst_ip, dst_port = dst.rsplit(":", 1)
    return {"ts": ts, "src_ip": src_ip.strip("[]"), "src_port": int(src_port),
            "dst_ip": dst_ip.strip("[]"), "dst_port": int(dst_port), "transport": transport,
            "raw": raw}  # fmt: skip


@pytest.mark.parametrize(
    ("a", "b", "transport"),
    [
        ("192.0.2.1:5062", "192.0.2.2:5060", "udp"),
        ("[2001:db8::1]:40000", "[2001:db8::2]:5060", "tcp"),
        ("192.0.2.1:40001", "192.0.2.2:5060", "tcp"),
        ("[2001:db8::1]:5060", "[2001:db8::2]:5060", "udp"),
    ],
)
def test_tshark_reads_the_messages_back(
    tshark: str, tmp_path: Path, a: str, b: str, transport: str
) -> None:
    """INVITE, 180, 200, ACK over UDP/TCP on IPv4/IPv6: tshark sees them, in order, from
    the right addresses and ports, at the stored times."""
    messages = [
        message(1767603600.0, a, b, transport, "INVITE sip:b@h SIP/2.0", "1 INVITE"),
        message(1767603600.25, b, a, transport, "SIP/2.0 180 Ringing", "1 INVITE"),
        message(1767603601.5, b, a, transport, "SIP/2.0 200 OK", "1 INVITE"),
        message(1767603601.625, a, b, transport, "ACK sip:b@h SIP/2.0", "1 ACK"),
    ]
    path = tmp_path / "call.pcap"
    path.write_bytes(pcap_bytes(messages))
    rows = sip_rows(tshark, path)
    got = [(r[0], r[1], r[2]) for r in rows]
    assert got == [("INVITE", "", "1 INVITE"), ("", "180", "1 INVITE"),
                   ("", "200", "1 INVITE"), ("ACK", "", "1 ACK")]  # fmt: skip
    v6 = a.startswith("[")
    port_field = 6 if transport == "udp" else 7
    src_ip = a.rsplit(":", 1)[0].strip("[]")
    assert rows[0][5 if v6 else 4] == src_ip and rows[0][port_field] == a.rsplit(":", 1)[1]
    assert [float(r[8]) for r in rows] == [1767603600.0, 1767603600.25, 1767603601.5,
                                          1767603601.625]  # fmt: skip


def test_a_stored_sample_call_exports_as_tshark_saw_it(tshark: str, tmp_path: Path) -> None:
    """A call of the bundled sample, stored then exported: tshark lists the same SIP
    messages (method, status, CSeq, source, port, time) as in the original capture."""
    engine = open_engine(tmp_path / "ct.db")
    sink = StoreSink(engine)
    analyze_chunks([(str(SAMPLE), read_chunks(SAMPLE))], sink)
    sink.close()
    call_id = "f409c0ed-eed3-ace9-9ed1-07c05c42c9e9"  # 13 SIP frames in tshark's view
    path = tmp_path / "export.pcap"
    path.write_bytes(pcap_bytes(call_messages(engine, call_id)))
    original = sip_rows(tshark, SAMPLE, call_id)
    exported = sip_rows(tshark, path)
    assert len(original) == 13
    assert [r[:8] for r in exported] == [r[:8] for r in original]
    assert [round(float(r[8]), 6) for r in exported] == [round(float(r[8]), 6) for r in original]

"""Event files on disk: format by extension or content, read in chunks."""

from __future__ import annotations

from pathlib import Path

from calltrace.model import CallEvent
from calltrace.sources.events import event_format, read_events


def test_format_by_extension_then_content(tmp_path: Path) -> None:
    """.csv and .jsonl decide by name; other names by their first bytes; a pcap is neither."""
    files = {
        "a.csv": b"", "a.JSONL": b"", "a.ndjson": b"", "cdr.txt": b"timestamp,a_number\n",
        "ev.log": b'{"timestamp": 1}\n', "x.pcap": b"\xd4\xc3\xb2\xa1" + bytes(20),
    }  # fmt: skip
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    found = {name: event_format(tmp_path / name) for name in files}
    assert found == {
        "a.csv": "csv", "a.JSONL": "jsonl", "a.ndjson": "jsonl", "cdr.txt": "csv",
        "ev.log": "jsonl", "x.pcap": None,
    }  # fmt: skip


def test_read_events_streams_a_big_file(tmp_path: Path) -> None:
    """A file bigger than one read chunk gives every line once, numbered, last line unterminated."""
    path = tmp_path / "big.csv"
    lines = ["timestamp,a_number,b_number"] + [f"{i},a{i},b" for i in range(40_000)]
    path.write_text("\n".join(lines))  # ~0.6 MB; no final newline
    items = list(read_events(path))
    assert len(items) == 40_000 and all(isinstance(x, CallEvent) for _, x in items)
    assert items[-1][0] == 40_001 and items[-1][1].a_number == "a39999"  # type: ignore[union-attr]

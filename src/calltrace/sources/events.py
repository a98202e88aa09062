"""Call-event files (JSON Lines or CSV): the only code that opens them.

The format is decided by the extension (``.jsonl``/``.ndjson``/``.json`` -> JSON Lines,
``.csv`` -> CSV) and otherwise by content (``decode.events.sniff``); bytes are read in
1 MiB chunks (``pcapfile.read_chunks``) and decoded by the pure
:class:`~calltrace.decode.events.EventDecoder`, so memory is flat on any file size.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from calltrace.decode.events import EventDecoder, sniff
from calltrace.errors import DecodeError
from calltrace.model import CallEvent
from calltrace.sources.pcapfile import read_chunks

EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}


def event_format(path: str | Path) -> str | None:
    """``"jsonl"``, ``"csv"``, or None when the file is not an event file (a capture)."""
    fmt = EXTENSIONS.get(Path(path).suffix.lower())
    if fmt is not None:
        return fmt
    with open(path, "rb") as handle:
        return sniff(handle.read(4096))


def read_events(
    path: str | Path, fmt: str | None = None
) -> Iterator[tuple[int, CallEvent | DecodeError]]:
    """``(line number, CallEvent or DecodeError)`` for every non-blank line of the file."""
    decoder = EventDecoder(fmt or event_format(path) or "jsonl")
    for chunk in read_chunks(path):
        yield from decoder.feed(chunk)
    yield from decoder.close()


def write_events(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> int:
    """Stream rows into a JSON Lines file at ``path`` (written to ``.part``, then renamed,
    as captures are); returns the number of lines. orjson keeps 1M rows to about a second."""
    target = Path(path)
    part = target.with_name(target.name + ".part")
    count = 0
    dumps = orjson.dumps
    with open(part, "wb", buffering=1 << 20) as out:
        write = out.write
        for row in rows:
            write(dumps(row))
            write(b"\n")
            count += 1
    os.replace(part, target)
    return count

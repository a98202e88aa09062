"""Write frames to a classic pcap file, streaming, and a run's truth next to it.

The one place the simulator touches the filesystem (sources/ is the I/O layer). Frames
are consumed lazily and written through a large buffer, so a capture of millions of
messages needs constant memory. Record layout comes from :mod:`calltrace.sim.pcapfmt`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calltrace.sim.engine import Simulation
from calltrace.sim.pcapfmt import DEFAULT_SNAPLEN, LINKTYPE_ETHERNET, global_header, record_header

_BUFFER = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteResult:
    """What was written: where, how many frames, how many bytes in all."""

    path: Path
    frames: int
    size: int
    truth_path: Path | None = None


def write_pcap(
    path: str | os.PathLike[str],
    frames: Iterable[tuple[int, bytes]],
    *,
    nanosecond: bool = False,
    linktype: int = LINKTYPE_ETHERNET,
    snaplen: int = DEFAULT_SNAPLEN,
) -> WriteResult:
    """Stream ``(ts_ns, frame)`` pairs into a pcap file at ``path`` (overwritten).

    The file is written to ``path + ".part"`` and renamed at the end, so a reader never
    sees half a capture under the final name and an interrupted run leaves no file
    that looks complete.
    """
    target = Path(path)
    part = target.with_name(target.name + ".part")
    count = 0
    size = 24
    with open(part, "wb", buffering=_BUFFER) as out:
        write = out.write
        write(global_header(linktype=linktype, snaplen=snaplen, nanosecond=nanosecond))
        for ts, frame in frames:
            write(record_header(ts, len(frame), nanosecond=nanosecond))
            write(frame)
            count += 1
            size += 16 + len(frame)
    os.replace(part, target)
    return WriteResult(path=target, frames=count, size=size)


def write_truth(path: str | os.PathLike[str], truth: dict[str, Any]) -> Path:
    """The truth as stable, diff-friendly JSON (sorted keys kept in generator order)."""
    target = Path(path)
    target.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def write_simulation(
    sim: Simulation,
    path: str | os.PathLike[str],
    *,
    truth_path: str | os.PathLike[str] | None = None,
    nanosecond: bool = False,
) -> WriteResult:
    """Run ``sim`` into a pcap at ``path`` and its truth into ``truth_path``.

    ``truth_path`` defaults to ``truth.json`` in the capture's directory (the layout
    of ``calltrace simulate --out DIR``).
    """
    result = write_pcap(path, sim, nanosecond=nanosecond)
    where = Path(truth_path) if truth_path is not None else result.path.parent / "truth.json"
    truth = sim.truth
    truth["file"] = {"name": result.path.name, "frames": result.frames, "bytes": result.size}
    write_truth(where, truth)
    return WriteResult(path=result.path, frames=result.frames, size=result.size, truth_path=where)

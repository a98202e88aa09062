"""Capture files: the only code that opens them. Reads in large chunks, streaming.

A 1 MiB chunk keeps the per-read cost negligible and the memory flat however big the
file is; the decoder keeps only the unconsumed tail between chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

CHUNK = 1 << 20


def read_chunks(
    path: str | Path, *, chunk_size: int = CHUNK, progress: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """Yield the file's bytes in order; ``progress(n)`` is told how many bytes each read gave."""
    with open(path, "rb", buffering=0) as handle:
        while chunk := handle.read(chunk_size):
            if progress is not None:
                progress(len(chunk))
            yield chunk

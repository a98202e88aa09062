"""Page cursors of the REST API's key-set paging.

A cursor is the sort key of the last row a page gave, fields joined by ``~``:
``START~ID`` for calls (start time in epoch seconds, row id), ``TIME~KIND~ID`` for
search results. Clients pass ``next_cursor`` back as ``cursor=`` (or follow ``next``).
The key is plain text rather than an opaque token so the OpenAPI schema can say exactly
which strings are cursors (a pattern): every string the pattern admits is a valid
cursor, and any other is a 422 naming ``cursor``. A cursor made by hand is harmless: it
only says where the page starts.

>>> encode_cursor((1767603600.25, 7))
'1767603600.25~7'
>>> decode_cursor("1767603600.25~call~7")
(1767603600.25, 'call', 7)
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import URL

#: A finite float as Python writes it (``repr``), bounded so it never overflows.
_TIME = r"-?[0-9]{1,20}(\.[0-9]{1,20})?(e[+-]?[0-9]{1,2})?"
_ID = r"[0-9]{1,18}"
CALL_CURSOR = f"^{_TIME}~{_ID}$"
SEARCH_CURSOR = f"^{_TIME}~(call|api_event)~{_ID}$"


def encode_cursor(key: tuple[Any, ...]) -> str:
    return "~".join(repr(part) if isinstance(part, float) else str(part) for part in key)


def decode_cursor(token: str) -> tuple[Any, ...]:
    """The key of a cursor the route's pattern admitted: (time, [kind,] id)."""
    parts = token.split("~")
    return (float(parts[0]), *parts[1:-1], int(parts[-1]))


def next_link(url: URL, key: tuple[Any, ...] | None) -> tuple[str | None, str | None]:
    """(cursor, relative URL) of the page after the one whose last key is ``key``;
    (None, None) on the last page."""
    if key is None:
        return None, None
    cursor = encode_cursor(key)
    following = url.include_query_params(cursor=cursor)
    return cursor, f"{following.path}?{following.query}"


def page(rows: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], Any]:
    """The first ``limit`` of ``limit + 1`` rows read, and the key to continue after
    (None when there was no more row: the last page)."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, rows[-1]["_key"]
    return rows, None

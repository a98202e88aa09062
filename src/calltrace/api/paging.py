"""Opaque page cursors for the REST API's key-set paging.

A cursor is the sort key of the last row a page gave, as URL-safe base64 of its JSON
(``[start, id]`` for calls, ``[time, kind, id]`` for search results). Clients pass it
back as ``cursor=`` and must not build one: the encoding may change. A cursor that does
not decode to the expected shape is a 422 naming the ``cursor`` parameter.

>>> token = encode_cursor((1767603600.25, 7))
>>> decode_cursor(token, (float, int))
(1767603600.25, 7)
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

import orjson
from starlette.datastructures import URL

from calltrace.api.errors import ApiError

#: Row ids and similar integers of a cursor stay within a signed 64-bit integer.
MAX_INT = 2**63 - 1


def encode_cursor(key: tuple[Any, ...]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def bad_cursor(message: str) -> ApiError:
    return ApiError(
        422,
        "invalid_request",
        f"query.cursor: {message}",
        [{"loc": ["query", "cursor"], "msg": message, "type": "value_error"}],
    )


def decode_cursor(token: str, types: tuple[type, ...]) -> tuple[Any, ...]:
    """The key a cursor holds, checked against ``types`` (float, int or str each)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise bad_cursor("not a cursor this API gave") from None
    if not isinstance(key, list) or len(key) != len(types):
        raise bad_cursor("not a cursor this API gave")
    return tuple(_checked(value, kind) for value, kind in zip(key, types, strict=True))


def _checked(value: Any, kind: type) -> Any:
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value):
            return float(value)
    elif kind is int and isinstance(value, int) and not isinstance(value, bool):
        if -MAX_INT <= value <= MAX_INT:
            return value
    elif kind is str and isinstance(value, str):
        return value
    raise bad_cursor("not a cursor this API gave")


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

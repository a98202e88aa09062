"""What the three intelligence sources share: a bounded per-value cache and data files."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def read_data(name: str, path: str | None = None) -> str:
    """A data file's text: the user's ``path``, else ``name`` shipped in enrich/data/."""
    if path is None:
        return resources.files("calltrace.enrich").joinpath("data", name).read_text()
    return Path(path).read_text(encoding="utf-8")


class CachedLookup(Generic[T]):
    """Answers per input string through a bounded LRU (``_lookup`` computes one).

    Pickles as its constructor arguments (``_args``): the cache, a wrapper around a bound
    method, does not pickle, and open databases should not; both are rebuilt on use.
    """

    _args: tuple[object, ...] = ()

    def _init_cache(self, size: int, *args: object) -> None:
        self._args = args
        self._cached = lru_cache(maxsize=size)(self._lookup)

    def _lookup(self, raw: str) -> T:
        raise NotImplementedError

    def _get(self, raw: str | None) -> T | None:
        if not raw:
            return None
        return self._cached(raw)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), self._args)

    def cache_info(self) -> Any:
        """Hits, misses and size of the cache (``functools`` cache_info)."""
        return self._cached.cache_info()

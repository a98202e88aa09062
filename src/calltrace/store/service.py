"""The service's store: one writer thread with a queue, pooled readers.

Why a writer thread. SQLite allows one writer at a time, and a commit blocks; the event
loop of ``calltrace serve`` must never wait on either. So every write (posted events and
their alerts, triage, config and key changes, audit records) is a *job*, a function of a
connection, put on a queue. One thread takes every job waiting, runs them in ONE
transaction and commits (group commit: under load, hundreds of requests share a commit),
then resolves each job's future; the API awaits that future, so an event is acknowledged
only once its transaction is committed. If a job fails, the batch is rolled back and its
jobs are run again one transaction each, so one bad job cannot fail the others.
PostgreSQL gets the same path (it would accept concurrent writers, but one ordered
writer keeps the two engines' behaviour identical).

Readers take a pooled connection of the same engine in a worker thread (WAL: readers
never block the writer nor wait for it). Durability on SQLite is ``synchronous=NORMAL``
with WAL: a committed transaction survives the process being killed (the ``kill -9``
test); after a power cut the last few commits may be lost (``synchronous=FULL`` would
fsync every commit).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from calltrace.store.db import open_engine

T = TypeVar("T")
Job = Callable[[sa.Connection], Any]

#: Jobs folded into one transaction at most (bounds a transaction's size and latency).
MAX_JOBS_PER_COMMIT = 512


class ServiceStore:
    """The database of ``calltrace serve``: ``submit`` writes, ``read`` reads.

    >>> import tempfile, sqlalchemy as sa
    >>> store = ServiceStore(tempfile.mkdtemp() + "/s.db")
    >>> store.submit(lambda conn: conn.exec_driver_sql("SELECT 1").scalar()).result()
    1
    >>> store.close()
    """

    def __init__(self, target: str | Path | None) -> None:
        self.engine = open_engine(target)
        self.dialect = self.engine.dialect.name
        self._queue: queue.SimpleQueue[tuple[Job, Future[Any]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="calltrace-writer", daemon=True)
        self._closed = False
        self.commits = 0
        self._thread.start()

    def submit(self, job: Callable[[sa.Connection], T]) -> Future[T]:
        """Queue a write; the future resolves (to the job's result) once it is committed."""
        future: Future[T] = Future()
        if self._closed:
            future.set_exception(RuntimeError("store is closed"))
            return future
        self._queue.put((job, future))
        return future

    async def submit_async(self, job: Callable[[sa.Connection], T]) -> T:
        """:meth:`submit` for the event loop: await the commit."""
        return await asyncio.wrap_future(self.submit(job))

    def read(self, query: Callable[[sa.Connection], T]) -> T:
        """Run a read on a pooled connection (call it from a worker thread, not the loop)."""
        with self.engine.connect() as conn:
            return query(conn)

    def ping(self) -> bool:
        """Whether the database answers (``/health``)."""
        try:
            return self.read(lambda conn: conn.exec_driver_sql("SELECT 1").scalar()) == 1
        except sa.exc.SQLAlchemyError:
            return False

    def close(self) -> None:
        """Finish every queued job, then stop the writer and release the connections."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()
        self.engine.dispose()

    # -- the writer thread ----------------------------------------------------------
    def _run(self) -> None:
        with self.engine.connect() as conn:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                stop = False
                while len(batch) < MAX_JOBS_PER_COMMIT:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stop = True
                        break
                    batch.append(item)
                self._commit(conn, batch)
                if stop:
                    return

    def _commit(self, conn: sa.Connection, batch: list[tuple[Job, Future[Any]]]) -> None:
        try:
            results = [job(conn) for job, _ in batch]
            conn.commit()
        except Exception as exc:
            conn.rollback()
            if len(batch) > 1:
                for item in batch:
                    self._commit(conn, [item])
                return
            batch[0][1].set_exception(exc)
            return
        self.commits += 1
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)

"""Row validation spread over worker processes, while the job's own process writes.

Validation needs no store (:class:`BatchCheck`), so a pool of processes can check the batches
after the one being written: each worker holds one :class:`BatchCheck`, built once from the pack,
the day, the authority and the profile, and the job takes the checked batches back in the order
it read them. A worker also hashes each new version's ledger members that the row alone decides
(``seal_versions``). What needs the store (rows already quarantined for the source, legacy
codes, the writer, the rest of the ledger) stays in the job's process, in the batch's
transaction.

Workers are started by a forkserver, never forked from the job's process (which holds database
engines and threads), and leave when the job's process ends, however it ends. A worker that dies
or raises stops the job with :class:`ValidationFailed`: the batches committed stay, and a rerun
resumes after them.
"""

import gc
import multiprocessing
import os
import pickle
import signal
import threading
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from datetime import date
from multiprocessing.shared_memory import SharedMemory
from typing import Any

from xinyong.ingest.profile import Layout, Translated
from xinyong.ingest.readers import ReadItem, parsed_row
from xinyong.ingest.rows import Rejection, ValidRow
from xinyong.ingest.validate import RowValidator
from xinyong.ingest.values import RowInvalid
from xinyong.ingest.writer import record_content
from xinyong.ledger.commitment import new_salts
from xinyong.policy import Pack
from xinyong.records.history import seal_content

# What validation makes of a row: a record to store, a refusal, or a layout row whose subject
# is named by a legacy code (linked through the store, then validated, by the job's process).
Verdict = ValidRow | Rejection | Translated
# A shared memory block's name, and how many of its bytes hold a pickled value.
Shared = tuple[str, int]
IN_FLIGHT_PER_WORKER = 2  # batches queued or being checked per worker: enough to never idle
# Allocations between young-generation collections during a job: more than a batch of 5,000
# rows holds at once (rows, dicts, tuples; it frees them when it ends), so a young collection
# runs about once per 100,000 rows rather than ten times a batch, each walking the whole batch.
GC_YOUNG_THRESHOLD = 200_000


class ValidationFailed(RuntimeError):
    """A validation worker died or raised: the job stops, and a rerun resumes it."""


class BatchCheck:
    """Everything about a batch that can be decided without the store, one verdict a row."""

    def __init__(self, pack: Pack, today: date, authority: str | None, profile: str | None):
        self.authority = authority
        self.validator = RowValidator(pack, today, authority=authority)
        self.layout = (
            None if profile is None else Layout(pack, pack.profiles[profile], authority=authority)
        )

    def verdicts(self, batch: list[ReadItem]) -> list[Verdict]:
        out: list[Verdict] = []
        for row_no, raw, read in batch:
            item = parsed_row(read)
            if isinstance(item, str):
                out.append(Rejection(row_no, None, item, raw, self.authority))
            elif self.layout is None:
                out.append(self.validator.validate(row_no, item, raw))
            else:
                out.append(self._translated(row_no, raw, item, self.layout))
        return out

    def _translated(self, row_no: int, raw: str, item: dict[str, Any], layout: Layout) -> Verdict:
        try:
            translated = layout.translate(item)
        except RowInvalid as invalid:
            return Rejection(row_no, invalid.field, invalid.reason, raw, self.authority)
        if translated.legacy is not None:
            return translated
        return self.validated(row_no, raw, translated)

    def validated(self, row_no: int, raw: str, translated: Translated) -> ValidRow | Rejection:
        """A layout row validated as the record it means; a refusal names the layout's column."""
        assert self.layout is not None
        checked = self.validator.validate(row_no, translated.row, raw)
        if isinstance(checked, Rejection):
            checked.field = self.layout.column_of(translated, checked.field)
        return checked


_check: BatchCheck | None = None  # the worker's own, built by _start_worker


def _start_worker(pack: Pack, today: date, authority: str | None, profile: str | None) -> None:
    global _check
    # Ctrl-C reaches the whole process group: the job's process stops the job, and its workers
    # leave with it (below) rather than each printing its own KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _check = BatchCheck(pack, today, authority, profile)
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_leave_with, args=(parent,), daemon=True).start()


def _leave_with(parent: multiprocessing.process.BaseProcess) -> None:
    """End this worker when the job's process ends: a job killed mid-way leaves no worker
    waiting on a queue that nobody will ever write to again."""
    parent.join()
    os._exit(1)


def _verdicts(batch: Shared) -> Shared:
    assert _check is not None, "the worker was not started"
    verdicts = _check.verdicts(_taken(batch))
    seal_versions(verdicts)
    # A verdict's raw text is its row's, which the job's process still holds: it goes back
    # without it (a third of the bytes, and of the job's time reading them), to be put back.
    for verdict in verdicts:
        if not isinstance(verdict, Translated):
            verdict.raw = ""
    return _shared(verdicts)


def _with_raw(batch: list[ReadItem], verdicts: list[Verdict]) -> list[Verdict]:
    """``verdicts`` of ``batch`` with each row's raw text put back (``_verdicts`` left it out)."""
    for (_, raw, _), verdict in zip(batch, verdicts, strict=True):
        if not isinstance(verdict, Translated):
            verdict.raw = raw
    return verdicts


def seal_versions(verdicts: list[Verdict]) -> None:
    """Hash the content members of each new version's ledger event here, under a salt drawn for
    that event (``xinyong.records.history.seal_content``), so that the job's process hashes only
    the member the store decides. A row that ends a duplicate or refused leaves its salt unused.
    """
    rows = [v for v in verdicts if isinstance(v, ValidRow) and v.op != "withdraw"]
    for row, salt in zip(rows, new_salts(len(rows)), strict=True):
        row.sealed = seal_content(record_content(row), row.subject.kind, salt)


def _shared(value: object) -> Shared:
    """``value``, pickled into a new shared memory block for the other process to take.

    Batches and verdicts cross this way rather than through the executor's pipes, which the job's
    process reads and writes in a thread of its own a few kilobytes at a time: each piece took
    the interpreter lock from the thread that writes the batches to the store."""
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    block = SharedMemory(create=True, size=max(len(data), 1))
    assert block.buf is not None
    block.buf[: len(data)] = data
    block.close()
    return block.name, len(data)


def _taken(shared: Shared) -> Any:
    """The value in a shared memory block, which is removed."""
    name, size = shared
    block = SharedMemory(name=name)
    try:
        assert block.buf is not None
        data = bytes(block.buf[:size])
    finally:
        block.close()
        block.unlink()
    return pickle.loads(data)


def _discard(name: str) -> None:
    """Remove a block that will not be taken (a job that stops), if it is still there."""
    with suppress(FileNotFoundError):
        block = SharedMemory(name=name)
        block.close()
        block.unlink()


def default_workers() -> int:
    """One worker per core the job's own process leaves free."""
    return max(len(os.sched_getaffinity(0)) - 1, 1)


class ValidationPool:
    """``workers`` processes checking batches for one job, in the order they were read."""

    def __init__(
        self, workers: int, pack: Pack, today: date, authority: str | None, profile: str | None
    ) -> None:
        self.workers = workers
        self._runs: list[Generator[tuple[list[ReadItem], list[Verdict]], None, None]] = []
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_start_worker,
            initargs=(pack, today, authority, profile),
        )

    def __enter__(self) -> "ValidationPool":
        return self

    def __exit__(self, *exc: object) -> None:
        for run in self._runs:
            run.close()  # a job that stops: the blocks of its batches in flight are removed
        self._executor.shutdown(wait=True, cancel_futures=True)

    def checked(
        self, batches: Iterable[list[ReadItem]]
    ) -> Iterator[tuple[list[ReadItem], list[Verdict]]]:
        """Each batch with its verdicts, in order; at most a few batches a worker in flight,
        so that memory stays flat whatever the file's length."""
        run = self._checked(batches)
        self._runs.append(run)
        return run

    def _checked(
        self, batches: Iterable[list[ReadItem]]
    ) -> Generator[tuple[list[ReadItem], list[Verdict]], None, None]:
        pending: deque[tuple[list[ReadItem], str, Future[Shared]]] = deque()
        limit = self.workers * IN_FLIGHT_PER_WORKER
        try:
            for batch in batches:
                sent = _shared(batch)
                try:
                    future = self._executor.submit(_verdicts, sent)
                except BrokenProcessPool as error:
                    _discard(sent[0])
                    # The batches before this one first: those checked are stored, and the
                    # error names the first that was not.
                    while pending:
                        yield self._result(*pending.popleft())
                    raise _failed(batch, error) from error
                pending.append((batch, sent[0], future))
                if len(pending) > limit:
                    yield self._result(*pending.popleft())
            while pending:
                yield self._result(*pending.popleft())
        finally:
            self._executor.shutdown(wait=True, cancel_futures=True)
            for _, sent_name, future in pending:
                _discard(sent_name)
                if future.done() and not future.cancelled() and future.exception() is None:
                    _discard(future.result()[0])

    @staticmethod
    def _result(
        batch: list[ReadItem], sent: str, future: Future[Shared]
    ) -> tuple[list[ReadItem], list[Verdict]]:
        try:
            return batch, _with_raw(batch, _taken(future.result()))
        except Exception as error:
            _discard(sent)
            raise _failed(batch, error) from error


def _failed(batch: list[ReadItem], error: Exception) -> ValidationFailed:
    rows = f"rows {batch[0][0]:,} to {batch[-1][0]:,}" if batch else "a batch"
    if isinstance(error, BrokenProcessPool):
        cause = "a validation worker process ended abruptly"
    else:
        cause = f"a validation worker failed: {type(error).__name__}: {error}"
    return ValidationFailed(
        f"{cause} while checking {rows}; the batches before them are stored, "
        "and ingesting the file again resumes after them"
    )

"""Ingest jobs: read, validate, and store submissions in batches that commit one at a time.

Each batch commits its records, events, quarantined rows and the submission's progress counter in
one transaction. A job killed part way leaves every committed batch in place and a ``running``
submission; running the same file again resumes after the last committed row, so every row is
stored exactly once.

Every row read ends as exactly one outcome (accepted, corrected, withdrawn, duplicate or
rejected), so a job's counts add up to the rows it read. Validation refuses what the store cannot
keep; should the store still refuse a batch for its data, the batch is split until the row at
fault is found and quarantined, so that no row can stop a job and every rerun completes it.
"""

import gc
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import china_today, utc_now
from xinyong.config import INGEST_BATCH_ROWS
from xinyong.ingest.legacy import Unlinked, record_links, resolve
from xinyong.ingest.models import QuarantinedRow, Submission
from xinyong.ingest.pool import (
    GC_YOUNG_THRESHOLD,
    BatchCheck,
    ValidationPool,
    Verdict,
    default_workers,
)
from xinyong.ingest.profile import LegacyCode, Translated, folded
from xinyong.ingest.readers import ReadItem, UnreadableFile, file_codec, read_rows
from xinyong.ingest.rows import Rejection, ValidRow
from xinyong.ingest.sheets import WORKBOOKS, read_layout
from xinyong.ingest.values import storable
from xinyong.ingest.writer import BatchResult, BatchWriter, Provenance, RowOutcome, Source
from xinyong.policy import Pack
from xinyong.records.changes import RecordsChanged, records_changed

LOG = logging.getLogger(__name__)
COUNTS = ("accepted", "duplicates", "corrected", "withdrawn", "rejected")
# A file this small is validated in the job's own process: starting workers (a forkserver, and
# each worker importing the pipeline and unpickling the pack: about a second, during which the
# job waits) costs more than they would save.
POOL_MIN_BYTES = 32 << 20
# With workers, a file's first batches are smaller, each twice the last up to the batch size:
# the job's process waits for the first batch's verdicts before it writes anything, and checking
# a whole batch of 20,000 rows takes a worker about a second on top of its start.
FIRST_BATCH_ROWS = 1_000
STATUS_COUNTER = {
    "accepted": "accepted",
    "duplicate": "duplicates",
    "corrected": "corrected",
    "withdrawn": "withdrawn",
    "rejected": "rejected",
}


@dataclass
class IngestSummary:
    submission_id: int
    source: str
    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    corrected: int = 0
    withdrawn: int = 0
    rejected: int = 0
    resumed_after: int = 0
    encoding: str | None = None
    profile: str | None = None
    skipped: bool = False
    rejection_report: str | None = None
    seconds: float = 0.0
    outcomes: list[RowOutcome] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return self.accepted + self.corrected + self.withdrawn

    @property
    def accounted(self) -> bool:
        """Whether every row read is stored, a duplicate or quarantined (it always should be)."""
        return self.rows == self.stored + self.duplicates + self.rejected

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["outcomes"]
        return {**data, "stored": self.stored, "accounted": self.accounted}

    def add(self, result: BatchResult) -> None:
        for outcome in result.outcomes:
            counter = STATUS_COUNTER[outcome.status]
            setattr(self, counter, getattr(self, counter) + 1)


def scan_file(path: Path) -> tuple[str, int]:
    """SHA-256 of the file and its number of lines, in one pass (the progress bar's total)."""
    digest = hashlib.sha256()
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
            lines += chunk.count(b"\n")
    return digest.hexdigest(), lines


class UnknownProfile(ValueError):
    """``--profile`` names no import profile of the pack."""


class IngestJob:
    """One submission: the rows of a file or of an API request, stored batch by batch."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        pack: Pack,
        *,
        today: date | None = None,
        authority: str | None = None,
        batch_size: int = INGEST_BATCH_ROWS,
        profile: str | None = None,
        workers: int | None = None,
        first_batch_size: int = FIRST_BATCH_ROWS,
    ) -> None:
        """``workers``: processes that validate a file's rows while this one writes them
        (0: validated here; ``None``: one a spare core for a large file, none for a small one).
        With workers, a file's first batch has ``first_batch_size`` rows and each next one
        twice as many, up to ``batch_size``.
        """
        self.factory = factory
        self.pack = pack
        self.authority = authority
        if profile is not None and profile not in pack.profiles:
            known = ", ".join(sorted(pack.profiles)) or "none"
            raise UnknownProfile(f"the pack has no import profile '{profile}' (it has: {known})")
        self.profile = profile
        self.workers = workers
        self._registration_types = [
            code for code, record_type in pack.record_types.items() if record_type.confirms_subject
        ]
        self.batch_size = batch_size
        self.first_batch_size = first_batch_size
        self.today = today or china_today()
        self.check = BatchCheck(pack, self.today, authority, profile)
        self.layout = self.check.layout
        # What the store raises when it refuses a value: wrapped by SQLAlchemy, or straight
        # from the driver on the bulk paths that write through it (PostgreSQL's COPY).
        driver = factory.kw["bind"].dialect.loaded_dbapi
        self.refusals: tuple[type[Exception], ...] = (
            IntegrityError,
            DataError,
            driver.IntegrityError,
            driver.DataError,
        )

    def _source_digest(self, content_digest: str) -> str:
        """What identifies this source in the store: its bytes, and who sends them.

        The quarantine is the decision on a row of a source, and a rerun of a source resumes
        it; the same bytes sent by another authority are another source, judged afresh (a row
        one district may not submit may be another's to submit)."""
        if self.authority is None:
            return content_digest
        return hashlib.sha256(f"{self.authority}\n{content_digest}".encode()).hexdigest()

    def run_file(
        self,
        path: Path,
        *,
        digest: str,
        report_dir: Path,
        progress: Callable[[int], None] | None = None,
        skip_complete: bool = False,
        encoding: str | None = None,
        sheet: str | None = None,
    ) -> IngestSummary:
        """Ingest the file at ``path`` (of SHA-256 ``digest``), in ``encoding`` if not UTF-8
        (``auto``: detected), through the job's profile if it has one."""
        started = utc_now()
        digest = self._source_digest(digest)
        # Refuses an unreadable file before anything is written.
        codec: str | None = None
        if path.suffix.lower() not in (*WORKBOOKS, ".parquet"):
            codec = file_codec(path, encoding)
        workers = self._workers_for(path)
        if self.layout is None:
            if sheet is not None:
                raise UnreadableFile(f"{path}: --sheet reads a workbook through a --profile")
            items = read_rows(path, encoding=codec or encoding, parsed=workers == 0)
        else:
            items = read_layout(path, self.layout.header, codec=codec or "utf-8", sheet=sheet)
        with self.factory.begin() as session:
            if skip_complete and session.scalar(
                select(Submission.id).where(
                    Submission.source_digest == digest, Submission.status == "complete"
                )
            ):
                return IngestSummary(0, str(path), skipped=True)
            submission = session.scalars(
                select(Submission)
                .where(Submission.source_digest == digest, Submission.status == "running")
                .order_by(Submission.id.desc())
            ).first()
            if submission is None:
                submission = Submission(
                    channel="file",
                    source=storable(str(path))[-500:],
                    source_digest=digest,
                    authority=self.authority,
                    status="running",
                    started_at=started,
                    rows_done=0,
                    **dict.fromkeys(COUNTS, 0),
                )
                session.add(submission)
                session.flush()
            summary = IngestSummary(
                submission.id,
                str(path),
                resumed_after=submission.rows_done,
                encoding=codec,
                profile=self.layout.profile.code if self.layout else None,
            )
            for counter in COUNTS:
                setattr(summary, counter, getattr(submission, counter))
        source = Source(summary.submission_id, path.name, digest)
        batches = _batches(
            _skip(items, summary.resumed_after, progress),
            self.batch_size,
            first=self.first_batch_size if workers else self.batch_size,
        )
        with _fewer_collections(), self._checked(batches, workers) as checked:
            for batch, verdicts in checked:
                result = self._store(batch, verdicts, source)
                summary.add(result)
                if progress is not None:
                    progress(len(batch))
        with self.factory.begin() as session:
            submission_row = session.get_one(Submission, summary.submission_id)
            submission_row.status = "complete"
            submission_row.finished_at = utc_now()
            summary.rows = submission_row.rows_done
        summary.seconds = (utc_now() - started).total_seconds()
        if summary.rejected:
            summary.rejection_report = str(self._report(source, report_dir))
        return summary

    def run_rows(
        self, items: Iterable[ReadItem], *, source_name: str, digest: str, key_id: str
    ) -> IngestSummary:
        """Store an API request's rows as one submission (in one transaction unless the store
        refuses a row that validation let through)."""
        started = utc_now()
        digest = self._source_digest(digest)
        batch = list(items)
        if self.layout is not None:
            batch = [
                (row_no, raw, folded(item) if isinstance(item, dict) else item)
                for row_no, raw, item in batch
            ]
        with self.factory.begin() as session:
            submission = Submission(
                channel="api",
                source=source_name,
                source_digest=digest,
                authority=self.authority,
                api_key_id=key_id,
                status="running",
                started_at=started,
                rows_done=0,
                **dict.fromkeys(COUNTS, 0),
            )
            session.add(submission)
            session.flush()
            summary = IngestSummary(submission.id, source_name)
        source = Source(summary.submission_id, source_name, digest)
        result = self._store(batch, self.check.verdicts(batch), source)
        with self.factory.begin() as session:
            session.execute(
                update(Submission)
                .where(Submission.id == summary.submission_id)
                .values(status="complete", finished_at=utc_now())
            )
        summary.add(result)
        summary.rows = len(batch)
        summary.outcomes = result.outcomes
        summary.seconds = (utc_now() - started).total_seconds()
        return summary

    def run_in(
        self,
        session: Session,
        items: list[ReadItem],
        *,
        channel: str,
        source_name: str,
        digest: str,
        key_id: str | None,
        provenance: Provenance | None = None,
    ) -> IngestSummary:
        """Store rows as one submission inside the caller's transaction.

        For a caller whose own bookkeeping must commit with the rows: a node applying a
        neighbour's batch moves the link's counter in the same transaction, so a batch is
        applied once, and gives the rows' ``provenance``, written with them. A value the
        store refuses despite validation fails the whole transaction (the caller tries again
        later) instead of being searched for by halves.
        """
        started = utc_now()
        digest = self._source_digest(digest)
        submission = Submission(
            channel=channel,
            source=storable(source_name)[:500],
            source_digest=digest,
            authority=self.authority,
            api_key_id=key_id,
            status="running",
            started_at=started,
            rows_done=0,
            **dict.fromkeys(COUNTS, 0),
        )
        session.add(submission)
        session.flush()
        summary = IngestSummary(submission.id, source_name)
        source = Source(submission.id, source_name, digest, provenance)
        with _fewer_collections():
            result = self._apply(session, items, self.check.verdicts(items), source)
        submission.status, submission.finished_at = "complete", utc_now()
        session.flush()
        summary.add(result)
        summary.rows = len(items)
        summary.outcomes = result.outcomes
        summary.seconds = (utc_now() - started).total_seconds()
        return summary

    def _workers_for(self, path: Path) -> int:
        if self.workers is not None:
            return self.workers
        return default_workers() if path.stat().st_size >= POOL_MIN_BYTES else 0

    @contextmanager
    def _checked(
        self, batches: Iterator[list[ReadItem]], workers: int
    ) -> Iterator[Iterator[tuple[list[ReadItem], list[Verdict]]]]:
        """The batches with their verdicts, in order: from a pool of ``workers`` processes that
        check the next batches while this one writes, or checked here when ``workers`` is 0."""
        if workers == 0:
            yield ((batch, self.check.verdicts(batch)) for batch in batches)
            return
        with ValidationPool(workers, self.pack, self.today, self.authority, self.profile) as pool:
            yield pool.checked(batches)

    def _store(self, batch: list[ReadItem], verdicts: list[Verdict], source: Source) -> BatchResult:
        """Apply ``batch`` in one transaction; if the store refuses its data, in halves (each
        half with the verdicts already reached on its rows)."""
        try:
            with self.factory.begin() as session:
                return self._apply(session, batch, verdicts, source)
        except self.refusals as error:
            # Not a lost connection or a lock (those stop the job, and a rerun resumes): the
            # store refused a value. Only the row that holds it may be refused for that.
            if len(batch) > 1:
                middle = len(batch) // 2
                return self._store(batch[:middle], verdicts[:middle], source).absorb(
                    self._store(batch[middle:], verdicts[middle:], source)
                )
            LOG.error("the store refused row %d of %s: %s", batch[0][0], source.name, error)
            row_no, raw, _ = batch[0]
            cause = type(getattr(error, "orig", error)).__name__
            refusal = f"the store refused this row ({cause}); please report it"
            with self.factory.begin() as session:
                return self._apply(
                    session,
                    [(row_no, raw, refusal)],
                    [Rejection(row_no, None, refusal, raw, self.authority)],
                    source,
                )

    def _apply(
        self, session: Session, batch: list[ReadItem], verdicts: list[Verdict], source: Source
    ) -> BatchResult:
        now = utc_now()
        # The first write takes SQLite's write lock, so the ids allocated below cannot collide.
        session.execute(
            update(Submission)
            .where(Submission.id == source.submission_id)
            .values(rows_done=Submission.rows_done + len(batch))
        )
        valid: list[ValidRow] = []
        refused: list[Rejection] = []
        # A row this source already had refused stays refused: replaying a file must not let an
        # early correction apply just because its document now exists.
        settled = self._already_refused(session, source.digest, [item[0] for item in batch])
        linked, checked = self._link_legacy(
            session,
            [
                (row_no, raw, verdict)
                for (row_no, raw, _), verdict in zip(batch, verdicts, strict=True)
                if isinstance(verdict, Translated) and row_no not in settled
            ],
        )
        # In the order read: a correction follows the submission it corrects.
        for (row_no, raw, _), verdict in zip(batch, verdicts, strict=True):
            if row_no in settled:
                field, reason = settled[row_no]
                refused.append(Rejection(row_no, field, reason, raw, self.authority))
                continue
            decided = checked[row_no] if isinstance(verdict, Translated) else verdict
            (valid if isinstance(decided, ValidRow) else refused).append(decided)  # type: ignore[arg-type]
        result = BatchWriter(session, source).apply(valid, refused, now)
        record_links(
            session,
            (
                (outcome.record_id, linked[outcome.row_no])
                for outcome in result.outcomes
                if outcome.row_no in linked
                and outcome.record_id is not None
                and outcome.status in ("accepted", "corrected")
            ),
            now,
        )
        records_changed.send(
            RecordsChanged(session, self.pack, result.subjects_touched, self.today, result.events)
        )
        increments = {STATUS_COUNTER[status]: 0 for status in STATUS_COUNTER}
        for outcome in result.outcomes:
            increments[STATUS_COUNTER[outcome.status]] += 1
        session.execute(
            update(Submission)
            .where(Submission.id == source.submission_id)
            .values(
                **{name: getattr(Submission, name) + value for name, value in increments.items()},
            )
        )
        return result

    def _link_legacy(
        self, session: Session, translated: list[tuple[int, str, Translated]]
    ) -> tuple[dict[int, LegacyCode], dict[int, ValidRow | Rejection]]:
        """Layout rows whose subject a legacy code names, linked (one look-up per batch), then
        validated. Returns the legacy code of each row linked, and each row's verdict."""
        if not translated:
            return {}, {}
        codes = [item.legacy for _, _, item in translated if item.legacy is not None]
        found = resolve(session, codes, self._registration_types)
        linked: dict[int, LegacyCode] = {}
        checked: dict[int, ValidRow | Rejection] = {}
        for row_no, raw, item in translated:
            assert item.legacy is not None
            subject = found[(item.legacy.role, item.legacy.code.upper())]
            if isinstance(subject, Unlinked):
                column = item.legacy.column
                checked[row_no] = Rejection(row_no, column, subject.reason, raw, self.authority)
                continue
            item.row["subject_id"] = subject
            linked[row_no] = item.legacy
            checked[row_no] = self.check.validated(row_no, raw, item)
        return linked, checked

    @staticmethod
    def _already_refused(
        session: Session, digest: str, row_numbers: list[int]
    ) -> dict[int, tuple[str | None, str]]:
        if not row_numbers:
            return {}
        rows = session.execute(
            select(QuarantinedRow.row_no, QuarantinedRow.field, QuarantinedRow.reason).where(
                QuarantinedRow.source_digest == digest,
                QuarantinedRow.row_no.between(min(row_numbers), max(row_numbers)),
            )
        )
        return {row_no: (field, reason) for row_no, field, reason in rows}

    def _report(self, source: Source, report_dir: Path) -> Path:
        """Every quarantined row of this file, as JSON Lines a clerk can work through."""
        report_dir.mkdir(parents=True, exist_ok=True)
        path = report_dir / f"rejections-{source.submission_id}.jsonl"
        with self.factory() as session, path.open("wb") as out:
            rows = session.execute(
                select(
                    QuarantinedRow.row_no,
                    QuarantinedRow.field,
                    QuarantinedRow.reason,
                    QuarantinedRow.raw,
                )
                .where(QuarantinedRow.source_digest == source.digest)
                .order_by(QuarantinedRow.row_no)
            )
            for row_no, field_name, reason, raw in rows:
                out.write(
                    orjson.dumps(
                        {
                            "file": source.name,
                            "row": row_no,
                            "field": field_name,
                            "reason": reason,
                            "received": raw,
                        }
                    )
                    + b"\n"
                )
        return path


_COLLECTIONS = threading.Lock()
_jobs = 0  # jobs running with fewer collections
_threshold = gc.get_threshold()  # the process's own, while no job runs


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cycle collector less often while a file is ingested, or a batch applied.

    A batch allocates hundreds of thousands of short-lived objects (rows, dicts, tuples) and
    almost no cycles; at the default threshold (700 allocations) the collector runs thousands of
    times per batch, each run walking every object the batch still holds: about a fifth of the
    job's time. The threshold is the process's: the first job to start raises it and the last
    to end puts it back (a server applies several neighbours' batches at once).
    """
    global _jobs, _threshold
    with _COLLECTIONS:
        if _jobs == 0:
            _threshold = gc.get_threshold()
            gc.set_threshold(max(_threshold[0], GC_YOUNG_THRESHOLD), *_threshold[1:])
        _jobs += 1
    try:
        yield
    finally:
        with _COLLECTIONS:
            _jobs -= 1
            if _jobs == 0:
                gc.set_threshold(*_threshold)


def _skip(
    items: Iterator[ReadItem], resume_after: int, progress: Callable[[int], None] | None
) -> Iterator[ReadItem]:
    for item in items:
        if item[0] > resume_after:
            yield item
        elif progress is not None:
            progress(1)


def _batches(items: Iterable[ReadItem], size: int, *, first: int) -> Iterator[list[ReadItem]]:
    """``items`` in batches of ``size``, the first ones growing from ``first`` (doubling)."""
    batch: list[ReadItem] = []
    limit = max(min(first, size), 1)
    for item in items:
        batch.append(item)
        if len(batch) >= limit:
            yield batch
            batch = []
            limit = min(limit * 2, size)
    if batch:
        yield batch

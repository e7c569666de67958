"""Applies one batch of validated rows to the store inside the caller's transaction.

The batch is resolved against the store with a few set-based queries (subjects, current versions,
known content hashes), decided row by row in memory, then written with one multi-row insert per
table. Decisions that need the store (duplicates, corrections of unknown documents) are made here.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from xinyong.ingest.models import QuarantinedRow
from xinyong.ingest.rows import Rejection, SubjectFacts, ValidRow
from xinyong.ingest.values import storable
from xinyong.records.history import record_batch_history
from xinyong.records.models import LegalRepresentative, Record, RecordEvent, RecordHead, Subject
from xinyong.store.bulk import BulkTable, allocate_ids, among, chunked

SUBJECTS: Table = Subject.__table__  # type: ignore[assignment]
RECORDS: Table = Record.__table__  # type: ignore[assignment]
HEADS: Table = RecordHead.__table__  # type: ignore[assignment]
EVENTS: Table = RecordEvent.__table__  # type: ignore[assignment]
REPRESENTATIVES: Table = LegalRepresentative.__table__  # type: ignore[assignment]
QUARANTINE: Table = QuarantinedRow.__table__  # type: ignore[assignment]
# Where a record came from across a network: written only for a neighbour's batch, left out of
# every other batch's rows (then every row has every column, picked in C).
PROVENANCE = ("origin_node", "origin_record_id", "origin_received_at", "via_node")


@dataclass(slots=True)
class RowOutcome:
    """What became of one row (the API returns one of these per row)."""

    row_no: int
    status: str  # accepted | corrected | withdrawn | duplicate | rejected
    record_id: int | None = None
    version: int | None = None
    field: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class BatchResult:
    outcomes: list[RowOutcome] = field(default_factory=list)
    # Each new event with the record version it concerns, for the ledger.
    events: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    subjects_touched: set[int] = field(default_factory=set)

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    def absorb(self, later: "BatchResult") -> "BatchResult":
        """This result followed by ``later``'s (a batch stored in parts)."""
        self.outcomes.extend(later.outcomes)
        self.events.extend(later.events)
        self.subjects_touched |= later.subjects_touched
        return self


@dataclass(slots=True)
class _Head:
    record_id: int
    subject_id: int
    version: int
    status: str
    hashes: set[str]
    new: bool = False
    changed: bool = False


class _Known(NamedTuple):
    """A subject of the batch as the store holds it (or as the batch created it)."""

    id: int
    suspect: bool
    kind: str


@dataclass(slots=True)
class _Decisions:
    """The state of one batch while its rows are decided in order."""

    heads: dict[str, _Head]
    result: BatchResult
    pending: list[tuple[ValidRow, str, RowOutcome]]  # rows that make an event
    new_records: list[dict[str, Any]]
    now: datetime


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where the rows of a neighbour's batch were first accepted, by row number: written with
    the versions and events they make (``xinyong.federation.inbox``)."""

    via: str  # the neighbour that sent them
    accepted: Mapping[int, tuple[str, int, datetime]]  # node, record id and instant there
    origins: Mapping[int, str]  # the node where the change an event records was made


@dataclass(slots=True)
class Source:
    """Where the rows of a batch come from, as the quarantine records it."""

    submission_id: int
    name: str
    digest: str
    provenance: Provenance | None = None


class BatchWriter:
    """Writes batches for one submission; ``now`` stamps every row of the batch."""

    def __init__(self, session: Session, source: Source) -> None:
        self.session = session
        self.source = source

    def apply(
        self, rows: Sequence[ValidRow], rejections: Sequence[Rejection], now: datetime
    ) -> BatchResult:
        connection = self.session.connection()
        result = BatchResult()
        known = self._known_subjects(connection, rows)
        heads = self._load_heads(connection, [row.document_key for row in rows])

        # Subjects new to the store get provisional (negative) ids while rows are decided, and
        # are created only if a row that names them is stored: a refused row leaves no trace.
        provisional: dict[str, int] = {}

        def subject_of(identifier: str) -> int:
            if identifier in known:
                return known[identifier].id
            return provisional.setdefault(identifier, -1 - len(provisional))

        batch = _Decisions(heads, result, [], [], now)
        refused = list(rejections)
        for row in rows:
            decide = self._withdraw if row.op == "withdraw" else self._version
            refusal = decide(row, subject_of(row.subject.identifier), batch)
            if refusal is not None:
                refused.append(refusal)
        new_records, pending = batch.new_records, batch.pending
        stored = [row for row, kind, _ in pending if kind != "withdrawn"]
        subject_ids = self._resolve_subjects(connection, stored, known, now)
        real = {
            provisional[identifier]: subject_ids[identifier]
            for identifier in provisional
            if identifier in subject_ids
        }
        for record in new_records:
            record["subject_id"] = real.get(record["subject_id"], record["subject_id"])
        for head in heads.values():
            head.subject_id = real.get(head.subject_id, head.subject_id)
        result.subjects_touched = {real.get(i, i) for i in result.subjects_touched}

        by_version: dict[tuple[str, int], dict[str, Any]] = {}
        for record, record_id in zip(
            new_records, allocate_ids(connection, RECORDS, len(new_records)), strict=True
        ):
            record["id"] = record_id
            heads[record["document_key"]].record_id = record_id
            by_version[(record["document_key"], record["version"])] = record
        provenance = self.source.provenance
        if provenance is not None:
            for record in new_records:
                node, origin_id, received_at = provenance.accepted[record["row_no"]]
                record["origin_node"], record["origin_record_id"] = node, origin_id
                record["origin_received_at"], record["via_node"] = received_at, provenance.via
        omitted = PROVENANCE if provenance is None else ()
        BulkTable(connection, RECORDS, omit=omitted).insert(new_records)
        withdrawn_from_store = self._load_records(
            connection,
            [
                o.record_id
                for _, kind, o in pending
                if kind == "withdrawn" and o.record_id is not None
            ],
        )
        event_ids = allocate_ids(connection, EVENTS, len(pending))
        # A new version's record is ``record_content(row)``, which a worker may have sealed; a
        # withdrawal's is the version it ends, sealed by nobody.
        sealed = [
            None if kind == "withdrawn" or row.sealed is None else (row.sealed, row.subject.kind)
            for row, kind, _ in pending
        ]
        for (row, kind, outcome), event_id in zip(pending, event_ids, strict=True):
            if outcome.record_id is None:
                outcome.record_id = by_version[(row.document_key, outcome.version or 0)]["id"]
            record = (
                by_version.get((row.document_key, outcome.version or 0))
                or withdrawn_from_store[outcome.record_id]
            )
            event = {
                "id": event_id,
                "record_id": outcome.record_id,
                "kind": kind,
                "occurred_at": now,
                "submission_id": self.source.submission_id,
                "row_no": row.row_no,
            }
            if provenance is not None:
                event["origin_node"] = provenance.origins[row.row_no]
                event["via_node"] = provenance.via
            result.events.append((event, record))
        # The store's kind of each subject, as read or created above: the ledger masks each
        # event's identifier by it, and need not read it again.
        kinds = {subject.id: subject.kind for subject in known.values()}
        leaves = record_batch_history(self.session, result.events, sealed, kinds)
        for (event, _), leaf in zip(result.events, leaves, strict=True):
            event["ledger_leaf"] = leaf
        BulkTable(connection, EVENTS, omit=omitted).insert(event for event, _ in result.events)
        self._write_heads(connection, heads)
        self._record_representatives(connection, pending, subject_ids)
        self._quarantine(connection, refused, now)
        for rejection in refused:
            result.outcomes.append(
                RowOutcome(
                    rejection.row_no, "rejected", field=rejection.field, reason=rejection.reason
                )
            )
        result.outcomes.sort(key=lambda outcome: outcome.row_no)
        return result

    def _withdraw(self, row: ValidRow, subject_id: int, batch: "_Decisions") -> Rejection | None:
        head = batch.heads.get(row.document_key)
        if head is None:
            return _refuse(row, "document_no", "no such document to withdraw")
        outcome = RowOutcome(row.row_no, "duplicate", version=head.version)
        if head.status == "withdrawn":
            batch.result.outcomes.append(outcome)
            return None
        if head.subject_id != subject_id:
            return _refuse(row, "subject_id", "this document concerns another subject")
        head.status, head.changed = "withdrawn", True
        # A document submitted earlier in this batch gets its record id at insert time.
        outcome.status, outcome.record_id = "withdrawn", head.record_id or None
        batch.pending.append((row, "withdrawn", outcome))
        batch.result.outcomes.append(outcome)
        batch.result.subjects_touched.add(subject_id)
        return None

    def _version(self, row: ValidRow, subject_id: int, batch: "_Decisions") -> Rejection | None:
        """A submission or a correction: a new version, a duplicate, or a refusal."""
        head = batch.heads.get(row.document_key)
        if head is not None and row.content_hash in head.hashes:
            batch.result.outcomes.append(RowOutcome(row.row_no, "duplicate", version=head.version))
            return None
        if row.op == "submit" and head is not None:
            if head.status == "withdrawn":
                return _refuse(
                    row, "document_no", "this document was withdrawn and cannot be submitted again"
                )
            return _refuse(
                row,
                "document_no",
                "a record with this document number exists; send op=correct to change it",
            )
        if row.op == "correct":
            if head is None:
                return _refuse(row, "document_no", "no such document to correct")
            if head.status == "withdrawn":
                return _refuse(row, "document_no", "a withdrawn document cannot be corrected")
            if head.subject_id != subject_id:
                # The document's entries, measures and notices belong to its subject: a record
                # about someone else is a new decision, not a new version of this one.
                return _refuse(
                    row,
                    "subject_id",
                    "a correction cannot change the subject of a document: withdraw it and "
                    "submit anew",
                )
        version = 1 if head is None else head.version + 1
        batch.new_records.append(self._record(row, subject_id, version, batch.now))
        outcome = RowOutcome(
            row.row_no, "accepted" if head is None else "corrected", version=version
        )
        batch.pending.append((row, "submitted" if head is None else "corrected", outcome))
        batch.result.outcomes.append(outcome)
        batch.result.subjects_touched.add(subject_id)
        if head is None:
            head = batch.heads[row.document_key] = _Head(
                0, subject_id, version, "active", set(), new=True
            )
        head.version, head.changed = version, True
        head.hashes.add(row.content_hash)
        return None

    def _known_subjects(
        self, connection: Connection, rows: Sequence[ValidRow]
    ) -> dict[str, _Known]:
        """The subjects of ``rows`` (and their representatives) the store already has."""
        identifiers = {row.subject.identifier for row in rows} | {
            row.legal_representative.identifier for row in rows if row.legal_representative
        }
        known: dict[str, _Known] = {}
        for chunk in chunked(sorted(identifiers)):
            for subject_id, identifier, suspect, kind in connection.execute(
                select(
                    SUBJECTS.c.id,
                    SUBJECTS.c.identifier,
                    SUBJECTS.c.suspect_identifier,
                    SUBJECTS.c.kind,
                ).where(among(connection, SUBJECTS.c.identifier, chunk))
            ):
                known[identifier] = _Known(subject_id, suspect, kind)
        return known

    def _resolve_subjects(
        self,
        connection: Connection,
        rows: Sequence[ValidRow],
        known: dict[str, _Known],
        now: datetime,
    ) -> dict[str, int]:
        """Create the subjects the stored ``rows`` name that the store lacks (adding them to
        ``known``); confirm and flag."""
        facts: dict[str, SubjectFacts] = {}
        confirming: dict[str, str] = {}
        for row in rows:
            facts.setdefault(row.subject.identifier, row.subject)
            if row.legal_representative is not None:
                facts.setdefault(row.legal_representative.identifier, row.legal_representative)
            if row.confirms_subject and row.op != "withdraw":
                name = row.fields.get("name")
                confirming[row.subject.identifier] = (
                    name if isinstance(name, str) else row.subject.name
                )
        identifiers = sorted(facts)
        missing = [identifier for identifier in identifiers if identifier not in known]
        if missing:
            new_ids = allocate_ids(connection, SUBJECTS, len(missing))
            BulkTable(connection, SUBJECTS).insert(
                {
                    "id": subject_id,
                    "identifier": identifier,
                    "kind": facts[identifier].kind,
                    "name": confirming.get(identifier) or facts[identifier].name,
                    "region": facts[identifier].region,
                    "org_type": facts[identifier].org_type,
                    "birth_date": facts[identifier].birth_date,
                    "sex": facts[identifier].sex,
                    # A resident identity number is self-certifying; an organisation is
                    # confirmed by a registration record from a registration authority.
                    "confirmed": facts[identifier].kind == "person" or identifier in confirming,
                    "suspect_identifier": facts[identifier].suspect,
                    "created_at": now,
                    "created_by_submission": self.source.submission_id,
                }
                for identifier, subject_id in zip(missing, new_ids, strict=True)
            )
            for identifier, subject_id in zip(missing, new_ids, strict=True):
                known[identifier] = _Known(
                    subject_id, facts[identifier].suspect, facts[identifier].kind
                )
        created = set(missing)
        updates = [
            {"b_id": known[identifier].id, "b_name": name}
            for identifier, name in confirming.items()
            if identifier not in created
        ]
        if updates:
            connection.execute(
                update(SUBJECTS)
                .where(SUBJECTS.c.id == bindparam("b_id"))
                .values(confirmed=True, name=bindparam("b_name")),
                updates,
            )
        suspects = [
            {"b_id": known[identifier].id}
            for identifier, fact in facts.items()
            if fact.suspect and not known[identifier].suspect
        ]
        if suspects:
            connection.execute(
                update(SUBJECTS)
                .where(SUBJECTS.c.id == bindparam("b_id"))
                .values(suspect_identifier=True),
                suspects,
            )
        return {identifier: known[identifier].id for identifier in identifiers}

    def _load_heads(self, connection: Connection, keys: list[str]) -> dict[str, _Head]:
        heads: dict[str, _Head] = {}
        unique = sorted(set(keys))
        for chunk in chunked(unique):
            for key, record_id, subject_id, version, status in connection.execute(
                select(
                    HEADS.c.document_key,
                    HEADS.c.record_id,
                    HEADS.c.subject_id,
                    HEADS.c.version,
                    HEADS.c.status,
                ).where(among(connection, HEADS.c.document_key, chunk))
            ):
                heads[key] = _Head(record_id, subject_id, version, status, set())
        found = sorted(heads)
        for chunk in chunked(found):
            for key, digest in connection.execute(
                select(RECORDS.c.document_key, RECORDS.c.content_hash).where(
                    among(connection, RECORDS.c.document_key, chunk)
                )
            ):
                heads[key].hashes.add(digest)
        return heads

    def _record(
        self, row: ValidRow, subject_id: int, version: int, now: datetime
    ) -> dict[str, Any]:
        record = record_content(row)
        record["version"] = version
        record["subject_id"] = subject_id
        record["content_hash"] = row.content_hash
        record["submission_id"] = self.source.submission_id
        record["row_no"] = row.row_no
        record["received_at"] = now
        return record

    def _load_records(
        self, connection: Connection, record_ids: list[int]
    ) -> dict[int, dict[str, Any]]:
        """Stored record versions by id (the ledger entry of a withdrawal names what it ends)."""
        found: dict[int, dict[str, Any]] = {}
        for chunk in chunked(sorted(set(record_ids))):
            rows = connection.execute(
                select(RECORDS, SUBJECTS.c.identifier.label("subject"))
                .join(SUBJECTS, SUBJECTS.c.id == RECORDS.c.subject_id)
                .where(among(connection, RECORDS.c.id, chunk))
            ).mappings()
            for row in rows:
                found[row["id"]] = dict(row)
        return found

    def _write_heads(self, connection: Connection, heads: dict[str, _Head]) -> None:
        fresh = [
            {
                "document_key": key,
                "record_id": head.record_id,
                "subject_id": head.subject_id,
                "version": head.version,
                "status": head.status,
            }
            for key, head in heads.items()
            if head.new
        ]
        BulkTable(connection, HEADS).insert(fresh)
        changed = [
            {
                "b_key": key,
                "b_record": head.record_id,
                "b_subject": head.subject_id,
                "b_version": head.version,
                "b_status": head.status,
            }
            for key, head in heads.items()
            if head.changed and not head.new
        ]
        if changed:
            connection.execute(
                update(HEADS)
                .where(HEADS.c.document_key == bindparam("b_key"))
                .values(
                    record_id=bindparam("b_record"),
                    subject_id=bindparam("b_subject"),
                    version=bindparam("b_version"),
                    status=bindparam("b_status"),
                ),
                changed,
            )

    def _record_representatives(
        self,
        connection: Connection,
        pending: list[tuple[ValidRow, str, RowOutcome]],
        subject_ids: dict[str, int],
    ) -> None:
        """Open a representation period for each registration that names a new representative."""
        changes = [
            (row, outcome.record_id)
            for row, kind, outcome in pending
            if kind != "withdrawn" and row.legal_representative is not None
        ]
        if not changes:
            return
        organisations = sorted({subject_ids[row.subject.identifier] for row, _ in changes})
        current: dict[int, list[tuple[int, int, date, date | None]]] = defaultdict(list)
        for chunk in chunked(organisations):
            for rep_id, org_id, person_id, started, ended in connection.execute(
                select(
                    REPRESENTATIVES.c.id,
                    REPRESENTATIVES.c.organisation_id,
                    REPRESENTATIVES.c.person_id,
                    REPRESENTATIVES.c.started_on,
                    REPRESENTATIVES.c.ended_on,
                ).where(among(connection, REPRESENTATIVES.c.organisation_id, chunk))
            ):
                current[org_id].append((rep_id, person_id, started, ended))
        closing: list[dict[str, Any]] = []
        opening: list[dict[str, Any]] = []
        for row, record_id in sorted(
            changes, key=lambda change: (change[0].effective_on, change[0].row_no)
        ):
            assert row.legal_representative is not None and row.effective_on is not None
            org_id = subject_ids[row.subject.identifier]
            person_id = subject_ids[row.legal_representative.identifier]
            periods = current[org_id]
            open_period = next((period for period in periods if period[3] is None), None)
            if open_period is not None and open_period[1] == person_id:
                continue
            if open_period is not None:
                if open_period[0] > 0:
                    closing.append({"b_id": open_period[0], "b_end": row.effective_on})
                else:
                    opening[-open_period[0] - 1]["ended_on"] = row.effective_on
                periods.remove(open_period)
                periods.append((*open_period[:3], row.effective_on))
            opening.append(
                {
                    "organisation_id": org_id,
                    "person_id": person_id,
                    "started_on": row.effective_on,
                    "ended_on": None,
                    "record_id": record_id,
                }
            )
            periods.append((-len(opening), person_id, row.effective_on, None))
        if closing:
            connection.execute(
                update(REPRESENTATIVES)
                .where(REPRESENTATIVES.c.id == bindparam("b_id"))
                .values(ended_on=bindparam("b_end")),
                closing,
            )
        BulkTable(connection, REPRESENTATIVES, omit=("id",)).insert(opening)

    def _quarantine(
        self, connection: Connection, refused: Sequence[Rejection], now: datetime
    ) -> None:
        BulkTable(connection, QUARANTINE, omit=("id",), ignore_conflicts=True).insert(
            [
                {
                    "submission_id": self.source.submission_id,
                    "source": storable(self.source.name)[:500],
                    "source_digest": self.source.digest,
                    "row_no": rejection.row_no,
                    "authority": None
                    if rejection.authority is None
                    else storable(rejection.authority)[:64],
                    "field": None if rejection.field is None else storable(rejection.field)[:80],
                    "reason": storable(rejection.reason)[:500],
                    "raw": storable(rejection.raw),
                    "received_at": now,
                }
                for rejection in refused
            ],
        )


def record_content(row: ValidRow) -> dict[str, Any]:
    """The content of the record version ``row`` makes, as the writer stores it: what its
    event's content members commit to (``xinyong.records.history.content_members``)."""
    return {
        "document_key": row.document_key,
        "record_type": row.record_type,
        "authority": row.authority,
        "document_no": row.document_no,
        "subject": row.subject.identifier,
        "subject_name": row.subject.name,
        "decided_on": row.decided_on,
        "effective_on": row.effective_on,
        "severity": row.severity,
        "amount": row.amount,
        "fields": row.fields,
    }


def _refuse(row: ValidRow, field_name: str, reason: str) -> Rejection:
    return Rejection(row.row_no, field_name, reason, row.raw, row.authority)

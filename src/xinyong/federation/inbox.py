"""Applying a neighbour's batch: checked, in order, once, through the normal pipeline.

A batch is refused unless it is signed by the neighbour the settings name (a forged one raises
an alarm), addressed to this node, numbered one after the last batch applied from that
neighbour and chained to it. A batch applied already is refused as a replay; the answer tells
the sender which batch is expected, so a sender that lost the answer knows it arrived.

Records go through ``IngestJob`` (the validation, jurisdiction, events, ledger leaves, entries
and measures of any submission) under their own authority; from a child, a record of an
authority outside the child's regions is refused into the quarantine. Marks (disputed,
resolved, repaired) are applied to the document's current version when they change something.
Each stored version and event is written with its provenance (where it was first accepted,
and which neighbour sent it). Everything a batch changes, the batch's receipt and the link's
counter commit in one transaction.
"""

import logging
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import as_utc, china_day
from xinyong.config import Settings
from xinyong.federation.batches import FIRST, Batch, MalformedBatch, open_batch, sender_of
from xinyong.federation.links import Direction, Link, link_named, listed_types
from xinyong.federation.models import Alarm, LinkState, ReceivedBatch
from xinyong.federation.outbox import MARKS, OPS
from xinyong.ingest.readers import ReadItem
from xinyong.ingest.rows import document_key
from xinyong.ingest.service import IngestJob
from xinyong.ingest.writer import Provenance
from xinyong.policy import Pack
from xinyong.records.models import Record, RecordEvent, RecordHead
from xinyong.rights.events import DISPUTED, RESOLVED, append_record_event, disputed_records
from xinyong.rights.repairs import end_publicity

LOG = logging.getLogger(__name__)
MAX_ITEMS = 10_000
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
KINDS = (*OPS, *MARKS)


class Refused(Exception):
    """A batch not applied: the HTTP status, why, and where the link stands."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        expected: int | None = None,
        last_digest: str | None = None,
        applied: bool = False,
        alarm: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.expected = expected
        self.last_digest = last_digest
        self.applied = applied
        self.alarm = alarm


@dataclass
class Outcome:
    """What became of a batch's items (the answer the sender gets)."""

    number: int
    items: int
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    marked: int = 0
    unchanged: int = 0
    refusals: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Item:
    position: int
    kind: str
    origin: str
    raw: str
    record: dict[str, Any] | None
    accepted: tuple[str, int, datetime] | None
    document: tuple[str, str, str] | None

    @property
    def key(self) -> str | None:
        if self.record is not None:
            authority, record_type, number = (
                self.record.get(name) for name in ("authority", "record_type", "document_no")
            )
            if not (
                isinstance(authority, str)
                and isinstance(record_type, str)
                and isinstance(number, str)
            ):
                return None
            return document_key(authority, record_type, number)
        assert self.document is not None
        return document_key(*self.document)


def _malformed(line_no: int, what: str) -> MalformedBatch:
    return MalformedBatch(f"item {line_no}: {what}")


def _item(line_no: int, line: bytes) -> Item:
    try:
        item = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise _malformed(line_no, f"not JSON ({error})") from None
    if not isinstance(item, dict):
        raise _malformed(line_no, "not an object")
    kind, origin, position = item.get("kind"), item.get("origin"), item.get("position")
    if kind not in KINDS:
        raise _malformed(line_no, f"kind is one of {', '.join(KINDS)}")
    if not isinstance(origin, str) or not _NAME.fullmatch(origin):
        raise _malformed(line_no, "origin is a node name")
    if not isinstance(position, int) or not 0 <= position < 2**63:
        raise _malformed(line_no, "position is a ledger position")
    raw = line.decode()
    if kind in MARKS:
        document = item.get("document")
        parts = (
            tuple(document.get(name) for name in ("authority", "record_type", "document_no"))
            if isinstance(document, dict)
            else ()
        )
        if len(parts) != 3 or not all(isinstance(part, str) for part in parts):
            raise _malformed(line_no, "a mark names its document (authority, type, number)")
        return Item(position, kind, origin, raw, None, None, parts)  # type: ignore[arg-type]
    record, accepted = item.get("record"), item.get("accepted")
    if not isinstance(record, dict) or record.get("op") != OPS[kind]:
        raise _malformed(line_no, f"a {kind} event carries its record, with op {OPS[kind]}")
    if not isinstance(accepted, dict) or set(accepted) != {"node", "record", "at"}:
        raise _malformed(line_no, "accepted is {node, record, at}")
    node, record_id, at = accepted["node"], accepted["record"], accepted["at"]
    if not isinstance(node, str) or not _NAME.fullmatch(node):
        raise _malformed(line_no, "accepted.node is a node name")
    if not isinstance(record_id, int) or not 0 < record_id < 2**63:
        raise _malformed(line_no, "accepted.record is a record id")
    try:
        instant = as_utc(datetime.fromisoformat(at))
    except (TypeError, ValueError):
        raise _malformed(line_no, "accepted.at is an ISO 8601 instant") from None
    return Item(position, kind, origin, raw, record, (node, record_id, instant), None)


def read_items(batch: Batch) -> list[Item]:
    if batch.header.count > MAX_ITEMS:
        raise MalformedBatch(f"a batch holds at most {MAX_ITEMS} items")
    lines = batch.items.split(b"\n")[:-1] if batch.items else []
    return [_item(number, line) for number, line in enumerate(lines, start=1)]


class RelayFirst:
    """The relay's writes go before the next batch a neighbour delivers.

    On SQLite a node has one writer and applying a batch holds it for seconds. The relay's
    writes are short (keeping its next batch, recording an acknowledgement), but without
    precedence a link would wait behind every batch its other neighbour sends in a row, and its
    own neighbour would sit idle meanwhile. A batch waits at most ``PATIENCE`` seconds.
    """

    PATIENCE = 10.0

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._writing = 0

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._changed:
            self._writing += 1
        try:
            yield
        finally:
            with self._changed:
                self._writing -= 1
                self._changed.notify_all()

    def wait(self) -> None:
        """Before applying a batch: until no relay write is waiting or under way."""
        with self._changed:
            self._changed.wait_for(lambda: self._writing == 0, self.PATIENCE)


RELAY_FIRST = RelayFirst()


def hold_link(session: Session, name: str) -> LinkState:
    # Writing to the link's row first holds it (and SQLite's write lock) until the batch
    # commits: two deliveries of one neighbour's batches never interleave.
    session.execute(
        text(
            "INSERT INTO federation_links (name, sent_number, sent_digest, sent_through, "
            "received_number, received_digest, errors) VALUES (:name, 0, '', -1, 0, '', 0) "
            "ON CONFLICT (name) DO NOTHING"
        ),
        {"name": name},
    )
    session.execute(update(LinkState).where(LinkState.name == name).values(errors=LinkState.errors))
    return session.execute(select(LinkState).where(LinkState.name == name)).scalar_one()


class Inbox:
    """Receives the batches of this node's neighbours."""

    def __init__(self, factory: sessionmaker[Session], pack: Pack, settings: Settings) -> None:
        self.factory = factory
        self.pack = pack
        self.settings = settings
        self.listed = listed_types(pack)

    def receive(self, caller: str, body: bytes, now: datetime) -> Outcome:
        """Apply the batch in ``body``, sent with the node key of ``caller``; raise Refused."""
        try:
            return self._receive(caller, body, now)
        except Refused as refused:
            if refused.alarm is not None:
                self._raise_alarm(caller, refused.alarm, body, now)
            raise

    def _receive(self, caller: str, body: bytes, now: datetime) -> Outcome:
        try:
            sender = sender_of(body)
        except MalformedBatch as error:
            raise Refused(422, str(error)) from None
        link = link_named(self.settings, sender)
        if link is None:
            raise Refused(403, f"{sender} is not a neighbour of {self.settings.node_name}")
        if caller != sender:
            raise Refused(403, f"this key belongs to the node {caller}, the batch is from {sender}")
        try:
            batch = open_batch(body, link.verifier)
            items = read_items(batch)
        except MalformedBatch as error:
            if error.forged:
                raise Refused(
                    403, f"forged batch: {error}", alarm=f"forged batch: {error}"
                ) from None
            raise Refused(422, str(error)) from None
        header = batch.header
        if header.receiver != self.settings.node_name:
            raise Refused(422, f"the batch is addressed to {header.receiver}")
        RELAY_FIRST.wait()
        with self.factory.begin() as session:
            state = hold_link(session, link.name)
            expected = state.received_number + 1
            if header.number < expected:
                raise self._replayed(session, link, header.number, header.digest, state)
            if header.number > expected or header.previous != (state.received_digest or FIRST):
                detail = f"batch {header.number} does not follow batch {state.received_number}" + (
                    " (out of order)" if header.number > expected else " (another chain)"
                )
                raise Refused(
                    409, detail, expected=expected, last_digest=state.received_digest or FIRST
                )
            outcome = self._apply(session, link, batch, items, now)
            state.received_number, state.received_digest = header.number, header.digest
            state.received_at = now
            session.add(
                ReceivedBatch(
                    link=link.name,
                    number=header.number,
                    digest=header.digest,
                    note=batch.note,
                    items=len(items),
                    stored=outcome.stored,
                    duplicates=outcome.duplicates,
                    rejected=outcome.rejected,
                    marked=outcome.marked,
                    unchanged=outcome.unchanged,
                    received_at=now,
                )
            )
        return outcome

    def _replayed(
        self, session: Session, link: Link, number: int, digest: str, state: LinkState
    ) -> Refused:
        applied = session.get(ReceivedBatch, (link.name, number))
        expected, last = state.received_number + 1, state.received_digest
        if applied is not None and applied.digest == digest:
            return Refused(
                409,
                f"batch {number} from {link.name} was applied already: a replay changes nothing",
                expected=expected,
                last_digest=last,
                applied=True,
            )
        return Refused(
            409,
            f"batch {number} from {link.name} differs from the batch {number} applied before",
            expected=expected,
            last_digest=last,
            alarm=f"two different batches numbered {number}, both signed by {link.name}",
        )

    def _raise_alarm(self, link: str, reason: str, body: bytes, now: datetime) -> None:
        LOG.critical("neighbour %s: %s", link, reason)
        with self.factory.begin() as session:
            session.add(
                Alarm(
                    link=link[:64],
                    reason=reason[:500],
                    evidence=body[:65536].decode(errors="replace"),
                    raised_at=now,
                )
            )

    def _apply(
        self, session: Session, link: Link, batch: Batch, items: list[Item], now: datetime
    ) -> Outcome:
        outcome = Outcome(batch.header.number, len(items))
        today = china_day(now)
        run: list[tuple[int, Item]] = []
        for number, item in enumerate(items, start=1):
            if item.record is not None:
                run.append((number, item))
                continue
            self._records(session, link, batch, run, today, outcome)
            run = []
            self._mark(session, link, number, item, now, outcome)
        self._records(session, link, batch, run, today, outcome)
        return outcome

    def _records(
        self,
        session: Session,
        link: Link,
        batch: Batch,
        run: Sequence[tuple[int, Item]],
        today: date,
        outcome: Outcome,
    ) -> None:
        """Store a run of record items as one submission, with their provenance."""
        if not run:
            return
        corrections = [item.key for _, item in run if item.kind == "corrected" and item.key]
        known = set(
            session.scalars(
                select(RecordHead.document_key).where(RecordHead.document_key.in_(corrections))
            )
        )
        rows: list[ReadItem] = []
        hosted: dict[str, bool] = {}  # a batch holds thousands of records of few authorities
        for number, item in run:
            assert item.record is not None
            record = dict(item.record)
            authority = record.get("authority")
            if link.direction is Direction.CHILD and not self._hosts(link, authority, hosted):
                rows.append(
                    (
                        number,
                        item.raw,
                        f"authority {str(authority)[:64]!r} is not one of the authorities of "
                        f"{link.name} (regions {', '.join(link.node.regions)})",
                    )
                )
                continue
            if item.kind == "corrected" and item.key not in known:
                # The first this node hears of the document: the version is new here.
                record["op"] = "submit"
            rows.append((number, item.raw, record))
        job = IngestJob(self.factory, self.pack, today=today)
        summary = job.run_in(
            session,
            rows,
            channel="node",
            source_name=f"node:{link.name}#{batch.header.number}",
            digest=batch.header.digest,
            key_id=None,
            provenance=Provenance(
                link.name,
                {number: item.accepted for number, item in run if item.accepted is not None},
                {number: item.origin for number, item in run},
            ),
        )
        outcome.stored += summary.stored
        outcome.duplicates += summary.duplicates
        outcome.rejected += summary.rejected
        outcome.refusals += [
            {"item": o.row_no, "field": o.field, "reason": o.reason}
            for o in summary.outcomes
            if o.status == "rejected"
        ]

    def _hosts(self, link: Link, authority: object, hosted: dict[str, bool]) -> bool:
        """Whether the child ``link`` serves ``authority``, remembered in ``hosted``."""
        if not isinstance(authority, str):
            return False
        if authority not in hosted:
            hosted[authority] = link.hosts(self.pack, authority)
        return hosted[authority]

    def _mark(
        self,
        session: Session,
        link: Link,
        number: int,
        item: Item,
        now: datetime,
        outcome: Outcome,
    ) -> None:
        assert item.document is not None and item.key is not None
        head = session.get(RecordHead, item.key)
        if head is None:
            outcome.unchanged += 1  # the document never reached this node
            return
        if link.direction is Direction.CHILD and not self._held_below(session, link, item):
            outcome.rejected += 1
            outcome.refusals.append(
                {
                    "item": number,
                    "field": "document",
                    "reason": f"{link.name} does not hold {item.key}",
                }
            )
            return
        event: RecordEvent | None = None
        if item.kind == "repaired":
            ended = end_publicity(session, self.pack, item.key, now)
            event = None if isinstance(ended, str) else ended
        else:
            disputed = head.record_id in disputed_records(session, [head.record_id])
            if (item.kind == "disputed") != disputed:
                kind = DISPUTED if item.kind == "disputed" else RESOLVED
                event = append_record_event(session, head.record_id, kind, now)
        if event is None:
            outcome.unchanged += 1
            return
        event.origin_node, event.via_node = item.origin, link.name
        session.flush()
        outcome.marked += 1

    def _held_below(self, session: Session, link: Link, item: Item) -> bool:
        """Whether the child can hold the document: its own authority's, one sent down to it
        (a listed record), or one it sent up."""
        authority, record_type, _ = item.document  # type: ignore[misc]
        if link.hosts(self.pack, authority) or record_type in self.listed:
            return True
        return (
            session.scalar(
                select(Record.id).where(
                    Record.document_key == item.key, Record.via_node == link.name
                )
            )
            is not None
        )

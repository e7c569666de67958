"""The relay of ``xinyong serve`` on a node: sends each neighbour its batches and has each
neighbour cosign this node's latest checkpoint, every ``XINYONG_FEDERATION_INTERVAL`` seconds.

Sending is resumable and idempotent. A batch is built from the events after the link's cursor
and kept, signed, with its body, before it is sent; it is sent again, the same bytes, until the
neighbour acknowledges it (an answer that it was applied already counts), and only then does
the cursor move on. A relay killed at any point resends the batch in flight or builds the same
batch again; the neighbour applies each number once. Before a new batch is built the neighbour
is asked which batch it expects, so that a link converges after either side was restored from
a backup (``xinyong.federation.resend``).

Each link sends from its own thread and the cosigning has another: on SQLite, applying one
neighbour's batch holds the store's only writer, and a link waiting for it must not hold up
the others.
"""

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import httpx
import orjson
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import utc_now
from xinyong.config import Settings, get_settings
from xinyong.federation.batches import FIRST, seal
from xinyong.federation.inbox import RELAY_FIRST, hold_link
from xinyong.federation.links import Link, links
from xinyong.federation.models import LinkState, SentBatch
from xinyong.federation.outbox import scan
from xinyong.federation.resend import Expected, converge
from xinyong.ledger.checkpoint import CheckpointError, SigningKey, read_signing_key
from xinyong.ledger.cosignature import note_text, signature_lines, verify_cosignature
from xinyong.ledger.service import latest_checkpoint
from xinyong.ledger.witness import SIZE_TYPE, cosigned_size, keep_cosignature, submission
from xinyong.periodic import Periodic
from xinyong.policy import Pack, pack_in_force
from xinyong.records.models import RecordEvent
from xinyong.store.db import make_engine, make_sessionmaker

LOG = logging.getLogger(__name__)
BATCHES = "/v1/federation/batches"
NEXT = "/v1/federation/batches/next"
ADD_CHECKPOINT = "/v1/federation/witness/add-checkpoint"


@dataclass(frozen=True)
class InFlight:
    number: int
    digest: str
    through: int
    body: bytes
    full: bool  # the scan filled a batch: more events are probably waiting


class Relay:
    """The exchange with every neighbour: a thread per link sends its batches, one more
    witnesses, so that a link waiting for this node's writer (SQLite has one, and applying a
    neighbour's batch holds it) holds up neither the other links nor the cosigning."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        pack: Pack,
        settings: Settings,
        client: httpx.Client | None = None,
    ) -> None:
        self.factory = factory
        self.pack = pack
        self.settings = settings
        self.links = links(settings)
        self.client = client or httpx.Client(timeout=30.0)
        self.poster = ThreadPoolExecutor(
            max(1, len(self.links)), thread_name_prefix="xinyong-federation-post"
        )
        self.threads: list[Periodic[bool]] = [
            *(Sending(self, link) for link in self.links),
            Witnessing(self),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        for thread in self.threads:
            thread.stop()

    def signing_key(self) -> SigningKey | None:
        try:
            return read_signing_key(self.settings.ledger_key_path)
        except (OSError, CheckpointError):
            LOG.warning("no ledger signing key: nothing is sent before `xinyong ledger keygen`")
            return None

    def send(self, link: Link, key: SigningKey) -> bool:
        """Send the link's batches while full ones follow each other; whether another may be
        waiting at once."""
        flight = self._in_flight(link)
        if flight is None:
            # Asked every round the link has nothing in flight, idle or not: the neighbour may
            # have been restored and lost batches, which nothing new would resend.
            if not self._converge(link) or not self._waiting(link):
                return False
            flight = self._next_batch(link, key)
            if flight is None:
                return False
        delivery = self._post(link, flight)
        delivered: InFlight | None = None  # acknowledged by the neighbour, not yet here
        while True:
            # While the neighbour applies this batch, the one before's acknowledgement is
            # written and the next batch built and kept, ahead of any batch another neighbour
            # delivers meanwhile: the next goes as soon as this one is acknowledged (or is
            # forgotten with it if this one is refused).
            with RELAY_FIRST.writing():
                if delivered is not None:
                    self._acknowledge(link, delivered)
                following = self._next_batch(link, key, after=flight) if flight.full else None
            if not self._delivered(link, flight, delivery.result):
                return False
            if following is None:
                with RELAY_FIRST.writing():
                    self._acknowledge(link, flight)
                return flight.full
            # Sent before this one's acknowledgement is written: the neighbour, not this
            # node's store, sets the pace. A relay killed in between sends this one again and
            # hears it was applied.
            delivery = self._post(link, following)
            delivered, flight = flight, following

    def _post(self, link: Link, flight: InFlight) -> Future[httpx.Response]:
        return self.poster.submit(
            self.client.post,
            link.node.url.rstrip("/") + BATCHES,
            content=flight.body,
            headers={
                "Authorization": f"Bearer {link.node.token}",
                "Content-Type": "application/json",
            },
        )

    def _delivered(
        self, link: Link, flight: InFlight, answer_of: Callable[[], httpx.Response]
    ) -> bool:
        """Whether the neighbour acknowledged ``flight`` (an answer that it was applied
        already counts); a refusal not applied forgets it and the batch built after it."""
        try:
            answer = answer_of()
        except httpx.HTTPError as error:
            self._error(link, f"batch {flight.number} not delivered: {error}")
            return False
        if answer.status_code == 200 or (answer.status_code == 409 and _applied(answer)):
            return True
        self._error(
            link, f"batch {flight.number} refused ({answer.status_code}): {answer.text[:400]}"
        )
        if answer.status_code == 409:
            # Not applied, and never will be under this number (the neighbour was restored, or
            # applied another batch under it from a restored copy of this node): forget it, so that
            # the next round converges and builds it again from the cursor.
            self._forget_unacknowledged(link)
        return False

    def _forget_unacknowledged(self, link: Link) -> None:
        with self.factory.begin() as session:
            hold_link(session, link.name)
            session.execute(
                delete(SentBatch).where(
                    SentBatch.link == link.name, SentBatch.acknowledged_at.is_(None)
                )
            )

    def _in_flight(self, link: Link) -> InFlight | None:
        """The batch kept and not yet acknowledged: it is sent again, the same bytes."""
        with self.factory() as session:
            kept = session.scalar(
                select(SentBatch)
                .where(SentBatch.link == link.name, SentBatch.acknowledged_at.is_(None))
                .order_by(SentBatch.number)
            )
            return None if kept is None else _kept(kept)

    def _waiting(self, link: Link) -> bool:
        """Whether any record event lies after the link's cursor."""
        with self.factory() as session:
            through = session.scalar(
                select(LinkState.sent_through).where(LinkState.name == link.name)
            )
            return (
                session.scalar(
                    select(RecordEvent.ledger_leaf)
                    .where(RecordEvent.ledger_leaf > (-1 if through is None else through))
                    .limit(1)
                )
                is not None
            )

    def _converge(self, link: Link) -> bool:
        """Ask the neighbour which batch it expects and bring the cursor there (it may have
        been restored from a backup, or this node may have been); whether to send."""
        try:
            answer = self.client.get(
                link.node.url.rstrip("/") + NEXT,
                headers={"Authorization": f"Bearer {link.node.token}"},
            )
            answer.raise_for_status()
            document = orjson.loads(answer.content)
            expected = Expected(int(document["expected"]), str(document["last_digest"]))
        except (httpx.HTTPError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            self._error(link, f"{link.name} did not say which batch it expects: {error}")
            return False
        with self.factory() as session:
            state = session.get(LinkState, link.name)
            if state is not None and (state.sent_number + 1, state.sent_digest or FIRST) == (
                expected.number,
                expected.last_digest,
            ):
                return True  # as the neighbour expects: no write to wait for
        with self.factory.begin() as session:
            problem = converge(session, hold_link(session, link.name), expected)
        if problem is not None:
            self._error(link, problem)
            return False
        return True

    def _next_batch(
        self, link: Link, key: SigningKey, after: InFlight | None = None
    ) -> InFlight | None:
        """A new batch from the events after the cursor, or after the batch ``after`` still in
        flight (kept before it is sent); None when there is nothing to send.

        The events are read and the batch signed outside the write transaction that keeps it
        (SQLite has one writer: the inbox must not wait for this), which then checks the link
        has not moved meanwhile."""
        with self.factory() as session:
            state = session.get(LinkState, link.name)
            if after is not None:
                number, previous, through = after.number + 1, after.digest, after.through
            elif state is None:
                number, previous, through = 1, FIRST, -1
            else:
                number = state.sent_number + 1
                previous, through = state.sent_digest or FIRST, state.sent_through
            built = session.get(SentBatch, (link.name, number))
            if built is not None:
                # Built already, after ``after`` (batches kept past it are forgotten with it).
                return _kept(built) if after is not None else None
            limit = self.settings.federation_batch_size
            found = scan(session, self.pack, self.settings.node_name, link, through, limit)
        if found.through == through:
            return None
        batch = None
        if found.items:
            batch = seal(
                key,
                sender=self.settings.node_name,
                receiver=link.name,
                number=number,
                previous=previous,
                policy=self.pack.digest,
                items=found.items,
            )
        with self.factory.begin() as session:
            state = hold_link(session, link.name)
            cursor = (state.sent_number + 1, state.sent_digest or FIRST, state.sent_through)
            moved = session.get(SentBatch, (link.name, number)) is not None or (
                after is None and cursor != (number, previous, through)
            )
            if after is not None:
                kept = session.get(SentBatch, (link.name, after.number))
                moved |= kept is None or kept.acknowledged_at is not None
            if moved:
                return None  # the next round builds it from where the link stands now
            if batch is None:
                if after is None:
                    state.sent_through = found.through  # nothing there for this neighbour
                return None
            body = batch.body()
            session.add(
                SentBatch(
                    link=link.name,
                    number=number,
                    digest=batch.header.digest,
                    through=found.through,
                    items=batch.header.count,
                    body=body,
                    created_at=utc_now(),
                )
            )
            return InFlight(number, batch.header.digest, found.through, body, True)

    def _acknowledge(self, link: Link, flight: InFlight) -> None:
        now = utc_now()
        with self.factory.begin() as session:
            state = hold_link(session, link.name)
            kept = session.get(SentBatch, (link.name, flight.number))
            if kept is None or kept.acknowledged_at is not None:
                return
            kept.acknowledged_at, kept.body = now, None
            state.sent_number, state.sent_digest = flight.number, flight.digest
            state.sent_through, state.sent_at = flight.through, now
            state.error = None

    def _error(self, link: Link, detail: str, now: datetime | None = None) -> None:
        LOG.warning("link %s: %s", link.name, detail)
        with self.factory.begin() as session:
            state = hold_link(session, link.name)
            state.error, state.error_at = detail[:2000], now or utc_now()
            state.errors += 1

    def witness(self, link: Link) -> None:
        """Have ``link`` cosign this node's latest checkpoint, proven from the size it last
        cosigned (the size it says it holds, when that differs)."""
        with self.factory.begin() as session:
            latest = latest_checkpoint(session)
            if latest is None or link.cosigner.encode() in latest.witnesses:
                return
            old = cosigned_size(session, link.verifier.name)
        for _ in range(2):
            with self.factory.begin() as session:
                found = submission(session, old)
            if found is None:
                self._error(link, f"{link.name} holds a checkpoint of size {old}, larger than ours")
                return
            checkpoint, body = found
            try:
                answer = self.client.post(
                    link.node.url.rstrip("/") + ADD_CHECKPOINT,
                    content=body,
                    headers={"Content-Type": "text/plain; charset=utf-8"},
                )
            except httpx.HTTPError as error:
                self._error(link, f"checkpoint {checkpoint.tree_size} not sent to witness: {error}")
                return
            if answer.status_code == 409 and answer.headers.get("content-type", "").startswith(
                SIZE_TYPE
            ):
                old = int(answer.text.strip())
                continue
            break
        if answer.status_code != 200:
            self._error(
                link,
                f"{link.name} did not cosign checkpoint {checkpoint.tree_size} "
                f"({answer.status_code}): {answer.text[:400]}",
            )
            return
        text = note_text(checkpoint.note)
        note = text + "\n" + answer.text
        kept = [
            verified
            for line in signature_lines(note)
            if (verified := verify_cosignature(line, text, link.cosigner)) is not None
        ]
        if not kept:
            self._error(link, f"{link.name} answered without its cosignature")
            return
        with self.factory.begin() as session:
            keep_cosignature(session, checkpoint, kept[0], link.cosigner, utc_now())


class Sending(Periodic[bool]):
    """One link's sending, in its own thread: at once again while full batches follow."""

    def __init__(self, relay: Relay, link: Link) -> None:
        super().__init__(f"xinyong-federation-{link.name}", relay.settings.federation_interval)
        self.relay = relay
        self.link = link

    def again(self, outcome: bool | None) -> bool:
        return bool(outcome)

    def work(self) -> bool:
        key = self.relay.signing_key()
        if key is None:
            return False
        try:
            return self.relay.send(self.link, key)
        except Exception as error:  # the next round retries; the error shows on the link
            LOG.exception("link %s failed", self.link.name)
            self.relay._error(self.link, f"{type(error).__name__}: {error}")
            return False


class Witnessing(Periodic[bool]):
    """Every interval, each neighbour cosigns this node's latest checkpoint."""

    def __init__(self, relay: Relay) -> None:
        super().__init__("xinyong-federation-witness", relay.settings.federation_interval)
        self.relay = relay

    def work(self) -> bool:
        for link in self.relay.links:
            try:
                self.relay.witness(link)
            except Exception as error:  # one neighbour's failure must not stop the others'
                LOG.exception("link %s: witnessing failed", link.name)
                self.relay._error(link, f"{type(error).__name__}: {error}")
        return False


def _kept(kept: SentBatch) -> InFlight | None:
    """A kept batch as it is sent again, the same bytes (None once acknowledged)."""
    if kept.body is None:
        return None
    return InFlight(kept.number, kept.digest, kept.through, kept.body, True)


def _applied(answer: httpx.Response) -> bool:
    """Whether a 409 says the batch was applied before (its acknowledgement was lost)."""
    try:
        return orjson.loads(answer.content).get("applied") is True
    except (orjson.JSONDecodeError, AttributeError):
        return False


def start_relay(settings: Settings | None = None) -> Relay | None:
    """Start the relay on the configured store; None for a platform without neighbours."""
    settings = settings or get_settings()
    if not settings.links:
        return None
    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    relay = Relay(factory, pack_in_force(settings), settings)
    relay.start()
    return relay

"""The ledger in a real SQLite store: appending, proofs from stored subtrees, verification that
names the first event edited behind the application's back, and erasure that keeps the tree."""

import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.orm import Session
from tests.ledger.conftest import rewrite_stored_hash, rewrite_tree, stored_leaf_hashes

from xinyong.ledger import (
    LeafInput,
    SigningKey,
    append,
    checkpoint,
    merkle,
    register_source,
    service,
    tiles,
    tree_head,
    verification,
)
from xinyong.ledger.commitment import SALT_SIZE, leaf_of, seal
from xinyong.ledger.erasure import ERASED, erase
from xinyong.ledger.events import EventError, canonical
from xinyong.ledger.models import LedgerCheckpoint, LedgerLeaf
from xinyong.testing.store import migrated_sqlite

# Every subtree hash of these 40-event trees is a tile entry, so that the tests below can edit
# any of them (tests/ledger/test_tiles.py covers tiles of the real height).
pytestmark = pytest.mark.usefixtures("every_level_stored")

# A stand-in for a feature's own table: events of kind "fine.*" are rebuilt from it.
fixtures = MetaData()
fines = Table(
    "test_fines",
    fixtures,
    Column("id", Integer, primary_key=True),
    Column("subject", String(18)),
    Column("amount", Integer),
)


def fine_payload(fine_id: int, subject: str, amount: int) -> bytes:
    return orjson.dumps(
        {"id": fine_id, "subject": subject, "amount": amount}, option=orjson.OPT_SORT_KEYS
    )


def rebuild_fines(session: Session, refs: Sequence[str]) -> Mapping[str, bytes]:
    rows = session.execute(select(fines).where(fines.c.id.in_([int(ref) for ref in refs])))
    return {str(row.id): fine_payload(row.id, row.subject, row.amount) for row in rows}


register_source("fine.", rebuild_fines)

BATCHES = [5, 1, 10, 7, 17]  # 40 events; a checkpoint after each batch
SIZE = sum(BATCHES)
CHECKPOINT_SIZES = [5, 6, 16, 23, 40]


def event(i: int) -> LeafInput:
    """Every fourth event is a policy publication (payload kept in the ledger), the rest fines.
    Every other event is handed over as its JSON object rather than as its canonical bytes."""
    if i % 4 == 3:
        content: dict[str, Any] = {"version": i, "pack": "national", "notes": {"z": 1, "a": "é"}}
        return LeafInput(
            "policy.published", f"pack-{i}", content if i % 8 == 7 else encoded(content)
        )
    payload = fine_payload(i, f"S{i:04d}", 1000 + i)
    return LeafInput("fine.imposed", str(i), orjson.loads(payload) if i % 2 else payload)


def encoded(content: Mapping[str, Any]) -> bytes:
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)


def salts(engine: Engine) -> dict[int, bytes]:
    with Session(engine) as session:
        rows = session.execute(select(LedgerLeaf.leaf_index, LedgerLeaf.salt))
        return {index: salt for index, salt in rows if salt is not None}


def leaf_hashes(engine: Engine, n: int = SIZE) -> list[bytes]:
    """What each event's leaf must be: its content committed under the salt the ledger drew."""
    drawn = salts(engine)
    events = [event(i) for i in range(n)]
    return [leaf_of(drawn[i], e.kind, e.ref, e.payload) for i, e in enumerate(events)]


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate("credit.example/ledger")


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ledger") / "empty.db"
    engine = create_engine(migrated_sqlite(path))
    fixtures.create_all(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="module")
def filled_store(empty_store: Path, key: SigningKey) -> Path:
    """40 events appended in five batches, each followed by a checkpoint: built once, and each
    test edits a copy of it."""
    path = empty_store.with_name("filled.db")
    shutil.copyfile(empty_store, path)
    engine = create_engine(f"sqlite:///{path}")
    start = 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tiles, "HEIGHT", 1)  # as every_level_stored does for the tests
        for count in BATCHES:
            with Session(engine) as session, session.begin():
                batch = [event(i) for i in range(start, start + count)]
                for leaf in batch:
                    if leaf.kind.startswith("fine."):
                        row = orjson.loads(canonical(leaf.payload))
                        session.execute(fines.insert().values(**row))
                assert append(session, batch) == list(range(start, start + count))
                checkpoint(session, key)
            start += count
    engine.dispose()
    return path


def store_copy(template: Path, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "ledger.db"
    shutil.copyfile(template, path)
    engine = create_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def engine(empty_store: Path, tmp_path: Path) -> Iterator[Engine]:
    yield from store_copy(empty_store, tmp_path)


@pytest.fixture
def ledger(filled_store: Path, tmp_path: Path) -> Iterator[Engine]:
    yield from store_copy(filled_store, tmp_path)


def sql(engine: Engine, *statements: str) -> None:
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)


def run_verify(engine: Engine, key: SigningKey) -> verification.VerifyReport:
    with Session(engine) as session:
        return verification.verify(session, key.verifier)


@pytest.fixture(params=[3, 1 << 14], ids=["small-chunks", "one-chunk"])
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(verification, "CHUNK", request.param)
    return int(request.param)


def test_append_builds_the_rfc_tree(ledger: Engine) -> None:
    hashes = leaf_hashes(ledger)
    with Session(ledger) as session:
        head = tree_head(session)
        assert (head.size, head.root_hash) == (SIZE, merkle.root_hash(hashes))
        rows = session.execute(select(LedgerLeaf.leaf_index, LedgerLeaf.payload))
        payloads = {index: payload for index, payload in rows}
    # Fines have a source, so only policy events keep their payload in the ledger.
    assert payloads[0] is None and payloads[1] is None
    assert payloads[3] == event(3).payload
    # An event handed over as its object is kept as the canonical bytes of that object.
    assert payloads[7] == encoded(orjson.loads(payloads[7]))
    assert orjson.loads(payloads[7]) == event(7).payload
    # Every event has a salt of its own, so equal content never makes equal leaves.
    assert len(set(salts(ledger).values())) == SIZE


def test_a_leaf_reveals_nothing_of_its_event(engine: Engine) -> None:
    """The same event logged twice makes two unrelated leaves, and neither is the hash of any
    encoding of its content: a guess at the content cannot be confirmed from the tree."""
    same = LeafInput("fine.imposed", "1", fine_payload(1, "S0001", 1000))
    with Session(engine) as session, session.begin():
        append(session, [same, same])
        first, second = service.subtree_hashes(session, [(0, 0), (0, 1)]).values()
    assert first != second
    content = same.payload
    guesses = [content, b"fine.imposed\n1\n" + content, b"\x00" + content]
    assert not {merkle.leaf_hash(guess) for guess in guesses} & {first, second}


def test_stored_proofs_equal_the_pure_ones_for_every_size(ledger: Engine) -> None:
    hashes = leaf_hashes(ledger)
    with Session(ledger) as session:
        for size in range(1, SIZE + 1):
            for index in range(size):
                assert service.inclusion_proof(session, index, size) == merkle.inclusion_proof(
                    index, hashes[:size]
                )
            for old in range(0, size + 1):
                assert service.consistency_proof(session, old, size) == merkle.consistency_proof(
                    old, hashes[:size]
                )


def test_proofs_beyond_the_ledger_are_refused(ledger: Engine) -> None:
    with Session(ledger) as session:
        with pytest.raises(service.NotInLedger):
            service.inclusion_proof(session, 0, SIZE + 1)
        with pytest.raises(merkle.ProofError):
            service.inclusion_proof(session, SIZE, SIZE)
        with pytest.raises(merkle.ProofError):
            service.consistency_proof(session, 10, 5)
    rewrite_stored_hash(ledger, 3, 0, None)
    with Session(ledger) as session, pytest.raises(service.LedgerDamaged, match="level 3, index 0"):
        service.inclusion_proof(session, 9, 20)


@pytest.mark.parametrize(
    ("leaf", "reason"),
    [
        (LeafInput("policy.published", "two\nlines", b"{}"), "line feed"),
        (LeafInput("", "1", b"{}"), "needs a kind"),
        (LeafInput("policy.published", "1", b"[1, 2]"), "has a list"),
        (LeafInput("policy.published", "1", b"digest 5"), "is not JSON"),
        (LeafInput("policy.published", "1", b'{"@event": 1}'), "may not start with '@'"),
        (LeafInput("policy.published", "1", {"a": 1, "@x": 2}), "may not start with '@'"),
        (LeafInput("policy.published", "two\nlines", {}), "line feed"),
        # A kind whose payload the ledger keeps: sealed in part, it has no whole one to keep.
        (
            LeafInput("policy.published", "1", {"b": 2}, seal(b"\x01" * SALT_SIZE, {"a": 1})),
            "no whole payload to keep",
        ),
    ],
)
def test_a_bad_event_rolls_back_with_its_batch(
    ledger: Engine, leaf: LeafInput, reason: str
) -> None:
    with Session(ledger) as session, pytest.raises(EventError, match=reason), session.begin():
        append(session, [event(SIZE), leaf])
    with Session(ledger) as session:
        assert tree_head(session).size == SIZE
    with Session(ledger) as session:
        assert append(session, []) == []


def test_an_event_sealed_in_part_is_logged_under_its_seal_and_verifies(
    ledger: Engine, key: SigningKey
) -> None:
    """A fine whose subject and amount were hashed ahead (as ingest's workers seal a record's
    content) is logged under the seal's salt, as the leaf of the whole fine: verification,
    which rebuilds the whole payload from the fines table, finds it as logged."""
    salt = b"\x07" * SALT_SIZE
    with Session(ledger) as session, session.begin():
        session.execute(fines.insert().values(id=SIZE, subject="S9999", amount=12))
        sealed = seal(salt, {"subject": "S9999", "amount": 12})
        leaf = LeafInput("fine.imposed", str(SIZE), {"id": SIZE}, sealed)
        assert append(session, [leaf]) == [SIZE]
    with Session(ledger) as session:
        row = session.get_one(LedgerLeaf, SIZE)
        assert (row.salt, row.payload) == (salt, None)
    assert stored_leaf_hashes(ledger, SIZE + 1)[SIZE] == leaf_of(
        salt, "fine.imposed", str(SIZE), fine_payload(SIZE, "S9999", 12)
    )
    report = run_verify(ledger, key)
    assert report.ok and report.tree_size == SIZE + 1, report.divergences
    sql(ledger, f"UPDATE test_fines SET amount = 13 WHERE id = {SIZE}")
    assert run_verify(ledger, key).first is not None


def test_checkpoints_sign_the_head_once(ledger: Engine, key: SigningKey) -> None:
    with Session(ledger) as session, session.begin():
        again = checkpoint(session, key)
    assert (again.tree_size, again.root_hash) == (SIZE, merkle.root_hash(leaf_hashes(ledger)))
    with Session(ledger) as session:
        sizes = session.scalars(
            select(LedgerCheckpoint.tree_size).order_by(LedgerCheckpoint.id)
        ).all()
    assert sizes == CHECKPOINT_SIZES


def test_an_untouched_ledger_verifies(ledger: Engine, key: SigningKey, chunk: int) -> None:
    seen: list[int] = []
    with Session(ledger) as session:
        report = verification.verify(session, key.verifier, progress=seen.append)
    assert report.ok, report.divergences
    assert (report.tree_size, report.checkpoints, sum(seen)) == (SIZE, len(CHECKPOINT_SIZES), SIZE)


def test_an_empty_ledger_verifies(engine: Engine, key: SigningKey) -> None:
    with Session(engine) as session, session.begin():
        assert checkpoint(session, key).tree_size == 0
    report = run_verify(engine, key)
    assert report.ok and report.tree_size == 0 and report.checkpoints == 1


def test_another_key_fails_every_checkpoint(ledger: Engine) -> None:
    report = run_verify(ledger, SigningKey.generate("credit.example/ledger"))
    assert report.total_divergences == len(CHECKPOINT_SIZES)
    assert report.first is not None and "no signature by the key" in report.first.reason


def test_a_value_changed_behind_the_application_s_back(
    ledger: Engine, key: SigningKey, chunk: int
) -> None:
    sql(ledger, "UPDATE test_fines SET amount = amount + 1 WHERE id = 17")
    report = run_verify(ledger, key)
    assert not report.ok and report.total_divergences == 1
    first = report.first
    assert first is not None
    assert (first.leaf_index, first.kind, first.ref) == (17, "fine.imposed", "17")
    assert "changed or moved after it was logged: the store's copy" in first.describe()


def test_the_first_of_several_edits_is_named(ledger: Engine, key: SigningKey, chunk: int) -> None:
    sql(
        ledger,
        "UPDATE test_fines SET subject = 'S9999' WHERE id = 33",
        "UPDATE ledger_leaves SET payload = CAST('{}' AS BLOB) WHERE leaf_index = 11",
        "UPDATE test_fines SET amount = 0 WHERE id = 25",
    )
    report = run_verify(ledger, key)
    assert [d.leaf_index for d in report.divergences] == [11, 25, 33]
    assert report.first is not None and report.first.kind == "policy.published"


def test_a_deleted_source_row(ledger: Engine, key: SigningKey, chunk: int) -> None:
    sql(ledger, "DELETE FROM test_fines WHERE id = 5")
    first = run_verify(ledger, key).first
    assert first is not None and first.leaf_index == 5 and "source row is gone" in first.reason


def test_a_deleted_event(ledger: Engine, key: SigningKey, chunk: int) -> None:
    sql(ledger, "DELETE FROM ledger_leaves WHERE leaf_index = 21")
    report = run_verify(ledger, key)
    assert report.total_divergences == 1
    assert (
        report.first is not None
        and report.first.leaf_index == 21
        and "deleted" in report.first.reason
    )


def test_two_events_swapped(ledger: Engine, key: SigningKey, chunk: int) -> None:
    sql(
        ledger,
        "UPDATE ledger_leaves SET leaf_index = -1 WHERE leaf_index = 9",
        "UPDATE ledger_leaves SET leaf_index = 9 WHERE leaf_index = 30",
        "UPDATE ledger_leaves SET leaf_index = 30 WHERE leaf_index = -1",
    )
    report = run_verify(ledger, key)
    assert [(d.leaf_index, d.ref) for d in report.divergences] == [(9, "30"), (30, "9")]


def test_a_rewritten_checkpoint(ledger: Engine, key: SigningKey, chunk: int) -> None:
    sql(
        ledger,
        "UPDATE ledger_checkpoints "
        "SET note = replace(note, char(10) || '16' || char(10), char(10) || '15' || char(10))",
    )
    first = run_verify(ledger, key).first
    assert first is not None and first.checkpoint_id == 3 and "does not verify" in first.reason
    sql(
        ledger,
        "UPDATE ledger_checkpoints "
        "SET note = (SELECT note FROM ledger_checkpoints WHERE id = 2) WHERE id = 3",
        "UPDATE ledger_checkpoints SET root_hash = zeroblob(32) WHERE id = 4",
    )
    reasons = [(d.checkpoint_id, d.reason) for d in run_verify(ledger, key).divergences]
    assert [checkpoint_id for checkpoint_id, _ in reasons] == [3, 4]
    assert all("disagree with its signed note" in reason for _, reason in reasons)


def test_history_rewritten_hashes_and_all(ledger: Engine, key: SigningKey, chunk: int) -> None:
    hashes = leaf_hashes(ledger)
    sql(ledger, "UPDATE test_fines SET amount = 1 WHERE id = 18")
    hashes[18] = leaf_of(salts(ledger)[18], "fine.imposed", "18", fine_payload(18, "S0018", 1))
    rewrite_tree(ledger, hashes)
    report = run_verify(ledger, key)
    assert report.total_divergences == 1
    first = report.first
    assert first is not None and first.checkpoint_id == 4 and first.position == 16
    assert "events 16..22 were rewritten" in first.reason


def test_a_leaf_hash_rewritten_with_its_event(ledger: Engine, key: SigningKey, chunk: int) -> None:
    sql(ledger, "UPDATE test_fines SET amount = 1 WHERE id = 18")
    forged = leaf_of(salts(ledger)[18], "fine.imposed", "18", fine_payload(18, "S0018", 1))
    rewrite_stored_hash(ledger, 0, 18, forged)
    report = run_verify(ledger, key)
    assert report.total_divergences == 1
    assert report.first is not None and report.first.position == 18
    assert "events 18..19 (level 1) does not match" in report.first.reason


def test_a_subtree_hash_rewritten(ledger: Engine, key: SigningKey, chunk: int) -> None:
    rewrite_stored_hash(ledger, 2, 5, bytes(32))
    report = run_verify(ledger, key)
    assert report.total_divergences == 1
    assert (
        report.first is not None and "events 20..23 (level 2) does not match" in report.first.reason
    )


def test_deleted_leaf_hashes(ledger: Engine, key: SigningKey, chunk: int) -> None:
    rewrite_stored_hash(ledger, 0, 7, None)
    report = run_verify(ledger, key)
    assert (
        report.first is not None
        and report.first.leaf_index == 7
        and "hash was deleted" in report.first.reason
    )
    sql(ledger, "DELETE FROM ledger_leaves WHERE leaf_index = 7")
    report = run_verify(ledger, key)
    assert report.first is not None and report.first.leaf_index == 7
    assert any("verification stopped at event 7" in d.reason for d in report.divergences)


def test_the_latest_events_deleted(ledger: Engine, key: SigningKey, chunk: int) -> None:
    rewrite_tree(ledger, stored_leaf_hashes(ledger, 30))
    sql(
        ledger,
        "DELETE FROM ledger_leaves WHERE leaf_index >= 30",
        "UPDATE ledger_head SET tree_size = 30",
    )
    report = run_verify(ledger, key)
    assert report.total_divergences == 1
    assert report.first is not None and report.first.checkpoint_id == 5
    assert "vouches for 40 events but the ledger holds 30" in report.first.reason


def test_an_event_slipped_in_past_the_head(ledger: Engine, key: SigningKey) -> None:
    sql(
        ledger,
        "INSERT INTO ledger_leaves VALUES "
        "(40, 'policy.published', 'forged', CAST('{}' AS BLOB), zeroblob(32))",
    )
    report = run_verify(ledger, key)
    assert report.first is not None and report.first.position == 40
    assert "beyond the ledger's head" in report.first.reason


def test_an_event_whose_content_cannot_be_found(ledger: Engine, key: SigningKey) -> None:
    sql(ledger, "UPDATE ledger_leaves SET payload = NULL WHERE leaf_index = 15")
    first = run_verify(ledger, key).first
    assert (
        first is not None
        and first.leaf_index == 15
        and "no source rebuilds 'policy.published'" in first.reason
    )
    sql(
        ledger,
        "UPDATE ledger_leaves SET kind = 'policy' || char(10) || 'x', payload = CAST('{}' AS BLOB) "
        "WHERE leaf_index = 15",
    )
    first = run_verify(ledger, key).first
    assert first is not None and first.leaf_index == 15 and "line feed" in first.reason


def test_a_salt_deleted_behind_the_application_s_back(
    ledger: Engine, key: SigningKey, chunk: int
) -> None:
    sql(ledger, "UPDATE ledger_leaves SET salt = NULL WHERE leaf_index = 12")
    report = run_verify(ledger, key)
    assert report.total_divergences == 1 and report.erased == 0
    assert report.first is not None and report.first.leaf_index == 12
    assert "no salt" in report.first.reason and "without a logged erasure" in report.first.reason


def test_a_salt_replaced_behind_the_application_s_back(ledger: Engine, key: SigningKey) -> None:
    sql(ledger, "UPDATE ledger_leaves SET salt = zeroblob(32) WHERE leaf_index = 12")
    first = run_verify(ledger, key).first
    assert first is not None and first.leaf_index == 12 and "changed or moved" in first.reason


def test_erased_events_leave_the_tree_verifiable(
    ledger: Engine, key: SigningKey, chunk: int
) -> None:
    """Retention ends: the ledger forgets the salts (and its own copy of a payload), the
    feature deletes its rows; every checkpoint still verifies, and the events count as erased."""
    with Session(ledger) as session, session.begin():
        erasure = erase(session, [2, 3, 5, 7], "retention of 5 years ended")
        again = erase(session, [2, 3], "retention of 5 years ended")
        checkpoint(session, key)
    assert erasure == SIZE and again is None
    sql(ledger, "DELETE FROM test_fines WHERE id IN (2, 5, 7)")
    report = run_verify(ledger, key)
    assert report.ok, report.divergences
    assert (report.erased, report.tree_size) == (4, SIZE + 1)
    with Session(ledger) as session:
        row = session.get(LedgerLeaf, 3)
        logged = session.get(LedgerLeaf, erasure)
    assert row is not None and (row.salt, row.payload) == (None, None)
    assert logged is not None and logged.kind == ERASED
    assert orjson.loads(logged.payload or b"")["events"] == [2, 3, 5, 7]


def test_erasure_refuses_what_it_cannot_do(ledger: Engine) -> None:
    with Session(ledger) as session, session.begin():
        erasure = erase(session, [1], "retention ended")
        assert erasure is not None
        with pytest.raises(EventError, match="kept as evidence"):
            erase(session, [erasure], "retention ended")
        with pytest.raises(EventError, match="not in the ledger"):
            erase(session, [SIZE + 5], "retention ended")
        with pytest.raises(EventError, match="states its reason"):
            erase(session, [4], " ")


def test_an_erasure_cannot_be_forged_by_deleting_salts(ledger: Engine, key: SigningKey) -> None:
    """A salt gone without a logged erasure is tampering, even beside real erasures."""
    with Session(ledger) as session, session.begin():
        erase(session, [2], "retention ended")
    sql(ledger, "UPDATE ledger_leaves SET salt = NULL WHERE leaf_index IN (2, 9)")
    report = run_verify(ledger, key)
    assert report.erased == 1
    assert [d.leaf_index for d in report.divergences] == [9]

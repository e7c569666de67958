"""Record events on the ledger: what the store hands back commits to the very leaf that was
logged, for every amount ingest accepts (a signed zero included), on SQLite and PostgreSQL."""

import itertools
from decimal import Decimal
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.ledger.commitment import commit
from xinyong.ledger.models import LedgerLeaf
from xinyong.ledger.service import subtree_hashes
from xinyong.policy import Pack
from xinyong.store.history import canonical_amount, rebuild_record_events
from xinyong.testing import samples
from xinyong.testing.ingest import ingest

CENTS = st.decimals(min_value=0, max_value=Decimal("9999999999999.99"), places=2)
SIGNED_ZEROS = ["-0", "-0.00", -0.0, "-0.001", "-0.004", "0E-7"]
AMOUNTS = st.one_of(
    CENTS.map(str),
    CENTS.map(float),
    st.integers(min_value=0, max_value=10**13 - 1),
    st.sampled_from(SIGNED_ZEROS),
    st.sampled_from(["0.005", "0.015", "1E+2", "9999999999999.99", "120000.0"]),
)


def _last_record_event(session: Session) -> tuple[LedgerLeaf, bytes]:
    index = session.scalar(
        select(func.max(LedgerLeaf.leaf_index)).where(LedgerLeaf.kind.startswith("record."))
    )
    assert index is not None
    leaf = session.get_one(LedgerLeaf, index)
    logged = subtree_hashes(session, [(0, index)])[(0, index)]
    return leaf, logged


def test_every_accepted_amount_rebuilds_the_leaf_it_was_logged_as(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    subject = samples.person(3)
    numbers = itertools.count(1)

    @settings(max_examples=40, deadline=None, database=None)
    @given(amount=AMOUNTS)
    def logged_as_stored(amount: object) -> None:
        row = samples.defaulter_listing(subject, next(numbers), amount=amount)
        assert ingest(factory, national, tmp_path, [row]).accepted == 1
        with factory() as session:
            leaf, logged = _last_record_event(session)
            rebuilt = rebuild_record_events(session, [leaf.ref])[leaf.ref]
        assert leaf.salt is not None
        assert commit(leaf.salt, leaf.kind, leaf.ref, rebuilt).leaf_hash == logged
        shown = orjson.loads(rebuilt)["decision"]["amount"]
        assert shown == canonical_amount(Decimal(str(amount)).quantize(Decimal("0.01")))
        assert not shown.startswith("-")

    logged_as_stored()


def test_a_signed_zero_is_written_as_zero() -> None:
    for zero in (Decimal("-0"), Decimal("-0.00"), -0.0, "-0.00", 0):
        assert canonical_amount(zero) == "0.00"
    assert canonical_amount(None) is None
    assert canonical_amount(Decimal("12.50")) == "12.50"

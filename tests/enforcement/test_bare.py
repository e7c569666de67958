"""A check through the bare driver (``xinyong check``) decides as the check service does and
logs as the check log does: one row, the same columns, a sealed group with its ledger leaf that
``verify`` rebuilds, the subject's entry; on both backends."""

from datetime import date
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from xinyong.enforcement.bare import decide_bare, log_bare
from xinyong.enforcement.checklog import KIND, Asker, CheckLog
from xinyong.enforcement.decisions import UnknownAction
from xinyong.enforcement.index import MeasuresIndex
from xinyong.enforcement.models import CheckLogGroup, CheckLogRow, checks_about
from xinyong.enforcement.service import check_in_store
from xinyong.enforcement.subjects import UndecidableSubject
from xinyong.enforcement.table_cache import table_of
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.ledger import SigningKey, checkpoint, verify
from xinyong.ledger.models import LedgerLeaf
from xinyong.ledger.service import latest_checkpoint, ledger_size, tree_head
from xinyong.policy import Pack
from xinyong.store.driver import BareStore, StoreNeedsInit, open_bare
from xinyong.testing import samples

DAY = date(2024, 6, 1)
COMPANY, REPRESENTATIVE, DEFAULTER = samples.organisation(1), samples.person(2), samples.person(1)
SUBJECTS = [COMPANY, REPRESENTATIVE, DEFAULTER, samples.person(3), "11010519491231002X"]


@pytest.fixture
def listed(factory: sessionmaker[Session], national: Pack, tmp_path: Path) -> sessionmaker[Session]:
    """A defaulter, and a listed company with its legal representative."""
    path = tmp_path / "rows.jsonl"
    rows = [
        samples.defaulter_listing(DEFAULTER, 1),
        samples.registration(COMPANY, REPRESENTATIVE, 1),
        samples.defaulter_listing(COMPANY, 2, subject_name="北京示例科技有限公司"),
    ]
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    digest, _ = scan_file(path)
    IngestJob(factory, national, today=DAY).run_file(path, digest=digest, report_dir=tmp_path)
    return factory


@pytest.fixture
def bare(store_url: str) -> BareStore:
    store = open_bare(store_url)
    yield store  # type: ignore[misc]
    store.close()


def comparable(decision: object) -> dict[str, object]:
    shown = orjson.loads(orjson.dumps(decision))
    del shown["decision_id"]
    return shown


def test_bare_decisions_are_the_services(
    listed: sessionmaker[Session], bare: BareStore, national: Pack
) -> None:
    packed = table_of(national)
    actions = sorted(national.actions)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.sampled_from(SUBJECTS),
        st.sampled_from(actions),
        st.dates(date(2023, 1, 1), date(2031, 1, 1)),
    )
    def same(subject: str, action: str, day: date) -> None:
        with listed() as session:
            expected = check_in_store(session, MeasuresIndex(national), subject, action, day)
        assert comparable(decide_bare(bare, packed, subject, action, day)) == comparable(expected)

    same()
    # The listed ones are denied something: the comparison did cover measures and entries.
    denied = decide_bare(bare, packed, REPRESENTATIVE, "buy_air_ticket", DAY)
    assert denied.effect == "deny" and denied.measures[0]["via"] == COMPANY


def test_bare_refusals(listed: sessionmaker[Session], bare: BareStore, national: Pack) -> None:
    packed = table_of(national)
    with pytest.raises(UndecidableSubject):
        decide_bare(bare, packed, "110105194912310021", "buy_air_ticket", DAY)
    with pytest.raises(UnknownAction, match="unknown action 'fly'"):
        decide_bare(bare, packed, DEFAULTER, "fly", DAY)


def test_a_bare_check_is_logged_as_the_check_log_logs_it(
    listed: sessionmaker[Session], bare: BareStore, national: Pack
) -> None:
    packed = table_of(national)
    first = decide_bare(bare, packed, REPRESENTATIVE, "buy_air_ticket", DAY)
    group = log_bare(bare, first, ("cli", "operator"), "flight CA1234")
    log = CheckLog(listed)
    second = decide_bare(bare, packed, REPRESENTATIVE, "buy_air_ticket", DAY)
    log.add_all([second], Asker("cli", "operator"), "flight CA1234")
    log.flush()
    third = decide_bare(bare, packed, DEFAULTER, "buy_air_ticket", DAY)
    log_bare(bare, third, ("cli", "operator"), "flight CA1235")

    columns = [column.name for column in CheckLogRow.__table__.columns]
    varying = {"id", "group_id", "decision_id", "checked_at"}
    with listed() as session:
        rows = {
            row.decision_id: row
            for row in session.scalars(select(CheckLogRow).order_by(CheckLogRow.id))
        }
        assert list(rows) == [first.decision_id, second.decision_id, third.decision_id]
        bare_row, logged_row = rows[first.decision_id], rows[second.decision_id]
        assert {name: getattr(bare_row, name) for name in columns if name not in varying} == {
            name: getattr(logged_row, name) for name in columns if name not in varying
        }
        assert bare_row.group_id == group and bare_row.checked_at.tzinfo is not None
        assert session.scalars(select(CheckLogGroup.sealed)).all() == [True, True, True]
        # The subject finds the check, and the leaf keeps no payload: verify rebuilds it.
        found = session.scalars(checks_about(REPRESENTATIVE)).all()
        assert {row.decision_id for row in found} == {first.decision_id, second.decision_id}
        leaf = session.scalars(
            select(LedgerLeaf).where(LedgerLeaf.kind == KIND, LedgerLeaf.ref == str(group))
        ).one()
        assert leaf.payload is None
    key = SigningKey.generate()
    with listed.begin() as session:
        checkpoint(session, key)
        assert verify(session, key.verifier).ok
        session.execute(
            update(CheckLogRow)
            .where(CheckLogRow.decision_id == first.decision_id)
            .values(effect="allow")
        )
    with listed() as session:
        report = verify(session, key.verifier)
    assert {(item.kind, item.ref) for item in report.divergences} == {(KIND, str(group))}


def test_a_store_that_needs_init_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreNeedsInit, match="xinyong init"):
        open_bare(f"sqlite:///{tmp_path / 'none.db'}")
    (tmp_path / "empty.db").write_bytes(b"")
    with pytest.raises(StoreNeedsInit, match="xinyong init"):
        open_bare(f"sqlite:///{tmp_path / 'empty.db'}")


def test_with_a_signing_key_the_check_is_provable_at_once(
    listed: sessionmaker[Session], bare: BareStore, national: Pack
) -> None:
    key = SigningKey.generate()
    decision = decide_bare(bare, table_of(national), DEFAULTER, "buy_air_ticket", DAY)
    log_bare(bare, decision, ("cli", "operator"), "flight CA1234", key)
    with listed() as session:
        signed = latest_checkpoint(session)
        assert signed is not None and signed.tree_size == ledger_size(session)
        assert signed.root_hash == tree_head(session).root_hash
        report = verify(session, key.verifier)
    assert report.ok

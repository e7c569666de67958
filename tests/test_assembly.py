"""The assembly connects every cross-feature listener and ledger source, and nothing else does:
a feature whose listener is not connected does not act on another feature's change."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.accounts.reset import reset_requested
from xinyong.assembly import LISTENERS, SOURCES, _log_evidence_read, assemble
from xinyong.audit.history import rebuild_accesses
from xinyong.enforcement.changes import entries_changed
from xinyong.enforcement.checklog import group_payloads
from xinyong.enforcement.models import EntryRow
from xinyong.enforcement.refresh import refresh_changed
from xinyong.integrity.cli import check_derived, print_derived
from xinyong.ledger import cli as ledger_cli
from xinyong.ledger.cli import DerivedCheck
from xinyong.ledger.sources import source, source_prefix
from xinyong.policy import Pack
from xinyong.records.changes import records_changed
from xinyong.records.history import rebuild_record_events
from xinyong.rights.notices_models import NoticeRow
from xinyong.rights.reviews import evidence_read
from xinyong.rights.transports import send_reset_link
from xinyong.rights.triggers import notify_changed_entries, notify_changed_records
from xinyong.scorecard.model import Scorecard
from xinyong.scoring.scorecard import register_artefact_loader
from xinyong.testing.ingest import ingest
from xinyong.testing.samples import defaulter_listing, person


def test_assembling_connects_every_listener_and_source() -> None:
    assemble()
    assemble()  # twice changes nothing
    assert records_changed.listeners == (notify_changed_records, refresh_changed)
    assert entries_changed.listeners == (notify_changed_entries,)
    assert reset_requested.listeners == (send_reset_link,)
    assert evidence_read.listeners == (_log_evidence_read,)
    assert {listener for _, listener in LISTENERS} == {
        notify_changed_records,
        refresh_changed,
        notify_changed_entries,
        send_reset_link,
        _log_evidence_read,
    }
    for kind, rebuild in (
        ("record.submitted", rebuild_record_events),
        ("record.withdrawn", rebuild_record_events),
        ("access.read", rebuild_accesses),
        ("check_log.group", group_payloads),
    ):
        prefix = source_prefix(kind)
        assert prefix is not None and source(prefix) is rebuild
    assert len(SOURCES) == 3
    previous = register_artefact_loader(None)
    assemble()
    assert register_artefact_loader(previous) == Scorecard.load
    assert ledger_cli._derived == [DerivedCheck(check_derived, print_derived)]


@pytest.fixture
def without_refresh() -> Iterator[None]:
    records_changed.disconnect(refresh_changed)
    try:
        yield
    finally:
        assemble()


def _listing() -> dict[str, str]:
    return defaulter_listing(person(1), 1, decided_on="2026-10-01", effective_on="2026-10-05")


def _counts(factory: sessionmaker[Session]) -> tuple[int, list[str]]:
    with factory() as session:
        entries = session.scalar(select(func.count()).select_from(EntryRow)) or 0
        kinds = list(session.scalars(select(NoticeRow.kind).order_by(NoticeRow.id)))
    return entries, kinds


def test_ingest_lists_and_tells_through_the_connected_listeners(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    ingest(factory, national, tmp_path, [_listing()])
    assert _counts(factory) == (1, ["record", "listing"])


@pytest.mark.usefixtures("without_refresh")
def test_a_listener_that_is_not_connected_is_not_called(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    ingest(factory, national, tmp_path, [_listing()])
    # The record is stored and its subject told of it, but no entry is derived from it, so
    # no listing is told either.
    assert _counts(factory) == (0, ["record"])

"""A mirror synced from a served platform decides as the central API does, keeps up with new
listings and withdrawals, reloads when it falls behind or finds a fault, and reports every
check it answers into the check log."""

from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from xinyong.clock import china_today
from xinyong.datasets.versions import Shelf
from xinyong.enforcement.models import CheckLogRow, MirrorBatch
from xinyong.ledger import checkpoint, verify
from xinyong.ledger.checkpoint import read_signing_key
from xinyong.mirror import Mirror, NotSynced, Refusal
from xinyong.mirror.sync import SyncError
from xinyong.subjects.service import whole_file
from xinyong.testing import samples

from .conftest import SCOPE, Platform, listing

PURPOSE = "ticket sale, flight CA1234"


def same(answer, decision) -> None:  # type: ignore[no-untyped-def]
    assert (answer.effect, answer.measures, answer.entries, answer.benefits) == (
        decision.effect,
        decision.measures,
        decision.entries,
        decision.benefits,
    )


def test_a_synced_mirror_denies_a_listed_person_as_the_platform_does(
    platform: Platform, tmp_path: Path
) -> None:
    listed, other = samples.person(1), samples.person(2)
    platform.ingest(listing(listed, 1))
    platform.publisher.publish_feeds()
    outcome = platform.syncer(tmp_path / "m").sync()
    assert outcome.reloaded and outcome.version == 1
    mirror = Mirror(tmp_path / "m")
    today = china_today()
    for subject in (listed, other):
        for action in SCOPE:
            answer = mirror.check(subject, action, PURPOSE)
            same(answer, platform.decide(subject, action, today))
            assert not answer.stale and answer.feed_version == 1
    assert mirror.check(listed, "buy_air_ticket", PURPOSE).effect == "deny"
    assert mirror.check(other, "buy_air_ticket", PURPOSE).effect == "allow"
    # The feed holds only the listed person, with nothing but grants.
    rows = dict(mirror.store.rows())
    assert list(rows) == [listed] and set(orjson.loads(rows[listed] or b"")) == {
        "subject",
        "grants",
    }


def test_deltas_carry_new_listings_and_withdrawals(platform: Platform, tmp_path: Path) -> None:
    first, second = samples.person(3), samples.person(4)
    platform.ingest(listing(first, 3))
    platform.publisher.publish_feeds()
    syncer = platform.syncer(tmp_path / "m")
    syncer.sync()
    mirror = Mirror(tmp_path / "m")
    platform.ingest(listing(second, 4))
    platform.ingest({**listing(first, 3), "op": "withdraw"})
    platform.publisher.publish_feeds()
    outcome = syncer.sync()
    assert (outcome.reloaded, outcome.applied, outcome.version) == (False, 1, 2)
    mirror.refresh()
    assert mirror.check(second, "buy_air_ticket", PURPOSE).effect == "deny"
    assert mirror.check(first, "buy_air_ticket", PURPOSE).effect == "allow"
    assert not mirror.holds(first)


def test_a_mirror_behind_the_window_or_on_a_broken_chain_reloads(
    platform: Platform, tmp_path: Path
) -> None:
    person = samples.person(5)
    platform.publisher.publish_feeds()
    syncer = platform.syncer(tmp_path / "m")
    syncer.sync()
    platform.ingest(listing(person, 5))
    platform.publisher.publish_feeds()
    # The mirror's record of its version is tampered with: the next version does not follow.
    syncer.store.set("manifest_sha256", "0" * 64)
    outcome = syncer.sync()
    assert outcome.reloaded and outcome.version == 2
    assert Mirror(tmp_path / "m").check(person, "buy_air_ticket", PURPOSE).effect == "deny"


def test_a_changed_file_is_refused(platform: Platform, tmp_path: Path) -> None:
    platform.ingest(listing(samples.person(6), 6))
    [published] = platform.publisher.publish_feeds()
    shelf = Shelf(platform.settings.datasets_path)
    folder = shelf.folder(published.dataset, 1)
    snapshot = folder / f"{published.dataset}.jsonl"
    data = snapshot.read_bytes()
    assert b'"grants"' in data
    snapshot.write_bytes(data.replace(b'"grants"', b'"GRANTZ"'))
    with pytest.raises(SyncError, match="SHA-256"):
        platform.syncer(tmp_path / "m").sync()
    with pytest.raises(NotSynced):
        Mirror(tmp_path / "m")


def test_a_stale_mirror_answers_review_never_allow(platform: Platform, tmp_path: Path) -> None:
    platform.publisher.publish_feeds()
    syncer = platform.syncer(tmp_path / "m")
    syncer.sync()
    policy = orjson.loads(syncer.store.position().policy)  # type: ignore[union-attr]
    limit = policy["staleness"]["buy_air_ticket"]
    syncer.store.confirm(syncer.store.position().confirmed_at - limit - 1)  # type: ignore[union-attr]
    answer = Mirror(tmp_path / "m").check(samples.person(7), "buy_air_ticket", PURPOSE)
    assert (answer.effect, answer.stale) == ("review", True)
    assert answer.feed_age > limit
    syncer.sync()
    assert Mirror(tmp_path / "m").check(samples.person(7), "buy_air_ticket", PURPOSE).effect == (
        "allow"
    )


def test_checks_outside_the_scope_or_on_bad_identifiers_are_refused(
    platform: Platform, tmp_path: Path
) -> None:
    platform.publisher.publish_feeds()
    platform.syncer(tmp_path / "m").sync()
    mirror = Mirror(tmp_path / "m")
    with pytest.raises(Refusal, match="outside"):
        mirror.check(samples.person(8), "issue_bond", PURPOSE)
    with pytest.raises(Refusal, match="subject_id"):
        mirror.check(samples.with_wrong_check(samples.person(8)), "buy_air_ticket", PURPOSE)
    with pytest.raises(Refusal, match="purpose"):
        mirror.check(samples.person(8), "buy_air_ticket", "sale\x00\n")
    assert list(mirror.check_all([], PURPOSE)) == []
    assert mirror.store.unreported() == 0


def test_answered_checks_reach_the_check_log_once_and_the_subjects_file(
    platform: Platform, tmp_path: Path
) -> None:
    person = samples.person(9)
    platform.ingest(listing(person, 9))
    platform.publisher.publish_feeds()
    syncer = platform.syncer(tmp_path / "m")
    syncer.sync()
    mirror = Mirror(tmp_path / "m")
    answers = mirror.check_all([(person, "buy_air_ticket"), (person, SCOPE[1])], PURPOSE)
    assert mirror.store.unreported() == 2
    # The batch is assigned, then the mirror dies before the platform's answer arrives.
    batch = syncer.store.assign(10_000)
    assert batch is not None
    [(batch_id, groups)] = syncer.store.pending()
    syncer._send(batch_id, groups)
    syncer.store.db.execute("update answered set reported = 0")
    assert syncer.sync().reported == 2  # sent again: the platform says duplicate
    with platform.factory() as session:
        rows = session.scalars(select(CheckLogRow).where(CheckLogRow.subject == person)).all()
        batches = session.scalars(select(MirrorBatch)).all()
    assert sorted(row.decision_id for row in rows) == sorted(a.decision_id for a in answers)
    assert {row.effect for row in rows} == {"deny"}
    assert [(b.batch_id, b.checks, b.site) for b in batches] == [(batch_id, 2, "PEK T3")]
    with platform.factory() as session:
        accesses = whole_file(session, person, platform.pack, china_today())["accesses"]
    assert {(access["kind"], access["who"]) for access in accesses} == {
        ("mirror_check", "Air China · PEK T3")
    }
    assert len(accesses) == 2
    # The group is sealed on the ledger from its rows as stored: the ledger verifies.
    key = read_signing_key(platform.settings.ledger_key_path)
    with platform.factory.begin() as session:
        checkpoint(session, key)
        assert verify(session, key.verifier).ok

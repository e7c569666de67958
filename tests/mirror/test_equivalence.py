"""Equivalence: after any run of listings (old and new, so some have expired), withdrawals,
credit repairs and syncs, the mirror decides every subject and every action of its scope as the central
decision function does on the platform's index (effect, measures, entries, benefits). One
mirror follows the platform through every example, by deltas."""

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xinyong.clock import china_today
from xinyong.mirror import Mirror
from xinyong.testing import samples

from .conftest import SCOPE, Platform

PEOPLE = [samples.person(100 + n) for n in range(6)]
PURPOSE = "ticket sale, equivalence"

steps = st.lists(
    st.tuples(
        st.sampled_from(["list", "withdraw", "repair", "sync"]),
        st.integers(0, len(PEOPLE) - 1),
        st.sampled_from([10, 400, 1500, 4000]),
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(run=steps)
def test_the_mirror_decides_as_the_platform_after_any_changes(
    platform: Platform, tmp_path: Path, run: list[tuple[str, int, int]]
) -> None:
    syncer = platform.syncer(tmp_path / "mirror")
    for step, who, days_ago in run:
        if step == "list":
            platform.list_person(PEOPLE[who], days_ago)
        elif step == "withdraw":
            platform.withdraw(PEOPLE[who])
        elif step == "repair":
            platform.repair(PEOPLE[who])
        platform.publisher.publish_feeds()
        syncer.sync()
    mirror = Mirror(tmp_path / "mirror")
    today = china_today()
    for person in PEOPLE:
        answers = mirror.check_all([(person, action) for action in SCOPE], PURPOSE)
        for answer in answers:
            central = platform.decide(person, answer.action, today)
            assert (answer.effect, answer.measures, answer.entries, answer.benefits) == (
                central.effect,
                central.measures,
                central.entries,
                central.benefits,
            )
    mirror.close()


def test_a_repaired_listing_allows_at_the_mirror_as_at_the_platform(
    platform: Platform, tmp_path: Path
) -> None:
    person = PEOPLE[0]
    platform.list_person(person)
    platform.list_person(person, days_ago=10)
    platform.publisher.publish_feeds()
    syncer = platform.syncer(tmp_path / "mirror")
    syncer.sync()
    mirror = Mirror(tmp_path / "mirror")
    today = china_today()
    # Two listings: repairing one leaves the other's deny; repairing both, allow at both.
    for repaired, effect in ((1, "deny"), (2, "allow")):
        assert platform.repair(person)
        platform.publisher.publish_feeds()
        assert not syncer.sync().reloaded
        mirror.refresh()
        answers = mirror.check_many([person] * 2, SCOPE[0], PURPOSE)
        central = platform.decide(person, SCOPE[0], today)
        assert central.effect == effect, repaired
        for answer in answers:
            assert (answer.effect, answer.measures, answer.entries) == (
                central.effect,
                central.measures,
                central.entries,
            )
        assert len(answers[0].entries) == 2 - repaired
    mirror.close()

"""Whether the platform knows an identifier: exactly the identifiers it was built or grown with."""

from hypothesis import given
from hypothesis import strategies as st

from xinyong.enforcement.index import KnownSubjects

codes = st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=18, max_size=18)


@given(st.sets(codes, max_size=300), st.sets(codes, max_size=50), st.lists(codes, max_size=50))
def test_known_means_built_with_or_added(
    built: set[str], added: set[str], strangers: list[str]
) -> None:
    known = KnownSubjects(built)
    for code in added:
        known.add(code)
    members = built | added
    assert len(known) == len(members)
    for code in [*members, *strangers]:
        assert known.knows(code) == (code in members)


def test_a_store_with_more_subjects_than_buckets_knows_exactly_them() -> None:
    """Past 65,536 identifiers the buckets are found by bisection, not by counting."""
    built = [f"91110000{number:010d}" for number in range(140_000)]
    known = KnownSubjects(built[::2])
    assert len(known) == 70_000
    assert all(known.knows(code) for code in built[::2])
    assert not any(known.knows(code) for code in built[1::2])

"""``Pack.may_submit`` is exactly the fnmatch reading of each record type's patterns."""

from __future__ import annotations

from fnmatch import fnmatchcase

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xinyong.policy import Authority, Pack, RecordType

PREFIXES = ("court", "market", "tax", "bank")
CODE = st.builds(
    lambda prefix, local: f"{prefix}.{local}",
    st.sampled_from(PREFIXES),
    st.text(alphabet="0159ab", min_size=1, max_size=4),
)
WILDCARDS = st.sampled_from(["*", "?", "[0-5]", "[!a]", "[ab]"])


@st.composite
def patterns_over(draw: st.DrawFn, codes: list[str]) -> str:
    """A pattern made from one of ``codes`` by replacing some characters with wildcards, or
    a free pattern; the pack refuses patterns that match nothing, so those are dropped."""
    if draw(st.booleans()):
        base = draw(st.sampled_from(codes))
        return "".join(draw(WILDCARDS) if draw(st.integers(0, 3)) == 0 else ch for ch in base)
    pieces = st.lists(st.sampled_from(["*", "?", "1", "a", "[0-9]"]), min_size=1, max_size=3)
    return f"{draw(st.sampled_from(PREFIXES))}.{''.join(draw(pieces))}"


@st.composite
def packs(draw: st.DrawFn) -> tuple[Pack, list[str]]:
    codes = sorted(draw(st.sets(CODE, min_size=1, max_size=8)))
    record_types = {}
    for index in range(draw(st.integers(1, 4))):
        patterns = draw(st.lists(patterns_over(codes), min_size=1, max_size=4, unique=True))
        patterns = [p for p in patterns if any(fnmatchcase(code, p) for code in codes)]
        if not patterns:
            patterns = [codes[0]]
        code = f"test.type{index}"
        record_types[code] = TEMPLATE.model_copy(
            update={"code": code, "authorities": tuple(patterns)}
        )
    authorities = {code: AUTHORITY.model_copy(update={"code": code}) for code in codes}
    pack = Pack(
        name="property",
        version="1",
        title={"zh": "性质", "en": "Property"},
        description="Generated.",
        digest="0" * 64,
        record_types=record_types,
        authorities=authorities,
    )
    return pack, codes


TEMPLATE = RecordType.model_validate(
    {
        "code": "test.type",
        "name": {"zh": "测试", "en": "Test"},
        "category": "judicial",
        "polarity": "neutral",
        "subject_kinds": ["person"],
        "severities": {"none": {"published": True, "min_months": 0, "max_months": 12}},
        "legal_basis": [{"title": "中华人民共和国民事诉讼法"}],
        "disclosure": "public",
        "domain": "public",
        "authorities": ["*"],
        "jurisdiction": "anywhere",
    }
)
AUTHORITY = Authority.model_validate(
    {
        "code": "court.1",
        "name": {"zh": "法院", "en": "Court"},
        "kind": "court",
        "level": "institution",
        "region": "110000",
    }
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packs(), st.lists(CODE, max_size=3))
def test_may_submit_matches_brute_force_fnmatch(
    generated: tuple[Pack, list[str]], strangers: list[str]
) -> None:
    pack, codes = generated
    for authority in [*codes, *strangers]:
        for code, record_type in pack.record_types.items():
            patterns = record_type.authorities
            expected = authority in codes and any(fnmatchcase(authority, p) for p in patterns)
            assert pack.may_submit(authority, code) is expected
        assert not pack.may_submit(authority, "test.unknown")

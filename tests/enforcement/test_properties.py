"""Invariants of the reference rules, the grants and the decisions, over generated records."""

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.enforcement.bundles import build_bundles, decision_table
from xinyong.enforcement.decisions import DecisionMaker
from xinyong.enforcement.grants import Representation, bundles_by_list, subject_grants
from xinyong.enforcement.index import KnownSubjects, MeasuresIndex
from xinyong.enforcement.rules import derive_entries
from xinyong.policy import load_shipped
from xinyong.records.facts import RecordFact, record_fact

PACK = load_shipped("national")
BUNDLES = build_bundles(PACK)
BY_LIST = bundles_by_list(BUNDLES)
MAKER = DecisionMaker(decision_table(PACK, BUNDLES))
CASES = ("(2024)执1号", "(2024)执2号")
GROUNDS = PACK.lists["court.defaulters"].entry[0].fields["ground"]

days = st.dates(min_value=date(2018, 1, 1), max_value=date(2030, 12, 31))
ACTIONS = sorted(PACK.actions)


@st.composite
def record(draw: st.DrawFn, number: int) -> RecordFact:
    kind = draw(
        st.sampled_from(
            [
                "court.defaulter_listing",
                "court.obligation_performed",
                "court.consumption_restriction",
                "tax.serious_violation",
                "tax.credit_rating",
            ]
        )
    )
    decided = draw(days)
    effective = decided + timedelta(days=draw(st.integers(0, 30)))
    case = draw(st.sampled_from(CASES))
    fields: dict[str, Any] = {"case_no": case}
    severity = "serious"
    if kind == "court.defaulter_listing":
        fields["ground"] = draw(st.sampled_from(GROUNDS))
        if draw(st.booleans()):
            fields["extension_months"] = draw(st.integers(12, 36))
    elif kind == "court.obligation_performed":
        severity = "none"
    elif kind == "tax.credit_rating":
        fields = {"year": 2024, "grade": draw(st.sampled_from("ABMCD"))}
        severity = "none"
    withdrawn = draw(
        st.none() | st.builds(lambda d: effective + timedelta(days=d), st.integers(-5, 2000))
    )
    made = record_fact(
        PACK,
        record_id=number,
        document_key=f"key|{kind}|{number}",
        document_no=f"{kind}|{number}",
        record_type=kind,
        severity=severity,
        amount=None,
        fields=fields,
        decided_on=decided,
        effective_on=effective,
        status="active" if withdrawn is None else "withdrawn",
        withdrawn_on=withdrawn,
    )
    assert made is not None
    return made


@st.composite
def records(draw: st.DrawFn) -> list[RecordFact]:
    count = draw(st.integers(1, 6))
    return [draw(record(number)) for number in range(1, count + 1)]


@settings(max_examples=300, deadline=None)
@given(records())
def test_entries_never_outlive_their_grounding_record(facts: list[RecordFact]) -> None:
    """Every consequence has an end: after the maximum period a record grounds nothing."""
    by_id = {fact.record_id: fact for fact in facts}
    for entry in derive_entries(PACK, facts):
        end = by_id[entry.record_id].publicity_ends_on
        assert end is not None
        assert entry.started_on <= entry.ended_on <= entry.period_ends_on <= end


@settings(max_examples=300, deadline=None)
@given(records(), days)
def test_a_withdrawn_grounding_record_leaves_no_active_entry(
    facts: list[RecordFact], day: date
) -> None:
    """Principle 4: a revoked decision ends all its consequences at once."""
    by_id = {fact.record_id: fact for fact in facts}
    for entry in derive_entries(PACK, facts):
        withdrawn_on = by_id[entry.record_id].withdrawn_on
        if withdrawn_on is not None and day >= withdrawn_on:
            assert not entry.active_on(day)


@settings(max_examples=300, deadline=None)
@given(
    records(),
    records(),
    days,
    st.none() | days,
    days,
    st.sampled_from(sorted(PACK.actions)),
)
def test_decisions_touch_only_named_actions_within_the_entries(
    own_facts: list[RecordFact],
    organisation_facts: list[RecordFact],
    represented_from: date,
    represented_until: date | None,
    day: date,
    action: str,
) -> None:
    """Principle 2: measures touch only the actions they name, and only while an entry holds."""
    own = list(enumerate(derive_entries(PACK, own_facts), start=1))
    theirs = list(enumerate(derive_entries(PACK, organisation_facts), start=100))
    held = [Representation("91110105000000019Q", represented_from, represented_until, theirs)]
    grants = subject_grants(own, held, BY_LIST)
    entries = dict(own + theirs)
    for grant in grants:
        entry = entries[grant.entry_id]
        assert entry.started_on <= grant.valid_from < grant.valid_to <= entry.ended_on
    decision = MAKER.decide("110105195102020025", True, grants, action, day)
    for measure in decision.measures:
        assert action in PACK.measures[measure["code"]].effects
        assert entries[measure["entry_id"]].active_on(day)
    effects = {measure["effect"] for measure in decision.measures}
    expected = "deny" if "deny" in effects else "review" if "review" in effects else "allow"
    assert decision.effect == expected == MAKER.effect(grants, action, day)
    as_fed = [grant.as_json() for grant in grants]
    assert MAKER.effect(as_fed, action, day.isoformat()) == decision.effect
    assert decision.valid_until > day


@settings(max_examples=150, deadline=None)
@given(
    records(),
    days,
    st.lists(
        st.tuples(st.sampled_from(["listed", "known", "stranger"]), st.sampled_from(ACTIONS)),
        min_size=1,
        max_size=20,
    ),
)
def test_a_batch_decides_as_one_check_at_a_time(
    facts: list[RecordFact], day: date, asked: list[tuple[str, str]]
) -> None:
    """``decide_all`` is ``decide`` per item: same answers, same order, fresh ids."""
    subjects = {
        "listed": "110105195102020025",
        "known": "110105195102020033",
        "stranger": "110105195102020041",
    }
    index = MeasuresIndex(PACK)
    own = list(enumerate(derive_entries(PACK, facts), start=1))
    index.grants[subjects["listed"]] = tuple(subject_grants(own, [], BY_LIST))
    index.known = KnownSubjects([subjects["listed"], subjects["known"]])
    items = [(subjects[who], action) for who, action in asked]
    batch = index.decide_all(items, day)
    one_by_one = [index.decide(subject, action, day) for subject, action in items]
    assert [replace(d, decision_id="") for d in batch] == [
        replace(d, decision_id="") for d in one_by_one
    ]
    assert len({d.decision_id for d in batch + one_by_one}) == 2 * len(items)

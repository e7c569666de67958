"""Random packs (lists, points and tiers schemes) and random records, with the facts tables
the plan reads built from them the way ``read_facts`` builds them from a store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
from hypothesis import strategies as st

from xinyong.enforcement.rules import Entry
from xinyong.evaluate.facts import FactsSpec, json_text
from xinyong.policy import Pack, SubjectKind, load_shipped
from xinyong.policy.lists import CreditList
from xinyong.policy.schemes import PointsScheme, TiersScheme
from xinyong.records.facts import ENDED_STATUSES, RecordFact, record_fact
from xinyong.scoring.facts import EntryFact, SubjectFacts

NATIONAL = load_shipped("national")
TYPES = (
    "court.defaulter_listing",
    "court.obligation_performed",
    "admin.penalty",
    "tax.credit_rating",
    "volunteer.service",
    "bank.loan_default",
    "ip.patent_grant",
)
"""Record types of the national catalogue the generated rules use: with and without a
maximum period, several grades, public and financial."""
GRADES = ("A", "B", "C")
CASES = ("c1", "c2")
STATUSES = ("active", "active", "active", "withdrawn", "repaired")
BASE_LIST = NATIONAL.lists["court.defaulters"].model_dump(mode="json")
LEGAL_BASIS = [{"title": "测试条例"}]
NAME = {"zh": "测试", "en": "test"}

days = st.dates(min_value=date(2018, 1, 1), max_value=date(2027, 12, 31))


def severities(code: str) -> list[str]:
    return [severity.value for severity in NATIONAL.record_type(code).severities]


@st.composite
def record_conditions(draw: st.DrawFn, *, amounts: bool = True) -> dict[str, Any]:
    code = draw(st.sampled_from(TYPES))
    condition: dict[str, Any] = {"record_type": code}
    if draw(st.booleans()):
        condition["severities"] = draw(
            st.lists(st.sampled_from(severities(code)), min_size=1, unique=True)
        )
    if amounts and draw(st.booleans()):
        condition["min_amount"] = draw(st.sampled_from([0.0, 1000.0, 50000.0]))
    if draw(st.booleans()):
        condition["fields"] = {
            "grade": draw(st.lists(st.sampled_from(GRADES), min_size=1, unique=True))
        }
    return condition


@st.composite
def credit_lists(draw: st.DrawFn, number: int) -> CreditList:
    data = {
        **BASE_LIST,
        "code": f"test.list{number}",
        "entry": draw(st.lists(record_conditions(), min_size=1, max_size=2)),
        "duration_months": draw(st.integers(1, 48)),
        "extension": draw(
            st.none() | st.builds(lambda m: {"field": "extra", "max_months": m}, st.integers(1, 24))
        ),
        "removal": draw(
            st.none()
            | st.builds(
                lambda types, same: {"record_types": types, "same_fields": same},
                st.lists(st.sampled_from(TYPES), min_size=1, max_size=2, unique=True),
                st.sampled_from([[], ["case_no"], ["case_no", "grade"]]),
            )
        ),
        "measures": [],
    }
    return CreditList.model_validate(data)


def _scheme_base(draw: st.DrawFn, code: str) -> dict[str, Any]:
    return {
        "code": code,
        "name": NAME,
        "description": "generated",
        "domain": draw(st.sampled_from(["public", "financial"])),
        "subject_kinds": draw(
            st.lists(st.sampled_from(["person", "organisation"]), min_size=1, unique=True)
        ),
        "legal_basis": LEGAL_BASIS,
    }


@st.composite
def conditions(draw: st.DrawFn, lists: list[str]) -> dict[str, Any]:
    if lists and draw(st.booleans()):
        return {"list": draw(st.sampled_from(lists))}
    return {
        "records": draw(record_conditions()),
        "window_months": draw(st.none() | st.integers(1, 36)),
        "min_count": draw(st.integers(1, 2)),
    }


@st.composite
def tiers(draw: st.DrawFn, lists: list[str], count: int, *, values: bool) -> list[dict[str, Any]]:
    made = []
    for number in range(count):
        tier: dict[str, Any] = {"grade": f"T{number}"}
        for group in ("all", "any", "none"):
            if draw(st.booleans()):
                tier[group] = draw(st.lists(conditions(lists), min_size=1, max_size=2))
        if values and draw(st.booleans()):
            tier["min_value"] = draw(st.integers(0, 200))
        if not (tier.keys() - {"grade"}):
            tier["all"] = [draw(conditions(lists))]
        made.append(tier)
    return made


@st.composite
def points_schemes(draw: st.DrawFn, lists: list[str]) -> PointsScheme:
    rules = []
    for number in range(draw(st.integers(1, 4))):
        rule = draw(record_conditions())
        rule.update(
            code=f"rule{number}",
            name=NAME,
            points=draw(st.integers(-40, 40).filter(bool)),
            window_months=draw(st.integers(1, 48)),
            cap=draw(st.none() | st.integers(1, 60)),
        )
        rules.append(rule)
    cuts = sorted(draw(st.sets(st.integers(1, 200), min_size=1, max_size=3)))
    edges = [0, *cuts]
    bands = [
        {
            "grade": f"G{number}",
            "min": None if number == 0 else low,
            "max": None if number == len(edges) - 1 else edges[number + 1] - 1,
        }
        for number, low in enumerate(edges)
    ]
    categories = {NATIONAL.record_type(code).category.value for code in TYPES}
    data = {
        **_scheme_base(draw, "test.points"),
        "kind": "points",
        "base": draw(st.integers(0, 200)),
        "min": 0,
        "max": 200,
        "rules": rules,
        "category_caps": draw(
            st.dictionaries(st.sampled_from(sorted(categories)), st.integers(1, 60), max_size=2)
        ),
        "overrides": draw(tiers(lists, draw(st.integers(0, 2)), values=True)),
        "bands": bands,
    }
    return PointsScheme.model_validate(data)


@st.composite
def tiers_schemes(draw: st.DrawFn, lists: list[str]) -> TiersScheme:
    made = draw(tiers(lists, draw(st.integers(1, 3)), values=False))
    data = {
        **_scheme_base(draw, "test.tiers"),
        "kind": "tiers",
        "tiers": [*made, {"grade": "default"}],
    }
    return TiersScheme.model_validate(data)


@dataclass(frozen=True)
class Policy:
    """Generated lists and schemes over the national catalogue (printed without the catalogue)."""

    lists: tuple[CreditList, ...]
    points: PointsScheme
    tiers: TiersScheme

    @property
    def pack(self) -> Pack:
        return NATIONAL.model_copy(
            update={
                "lists": {item.code: item for item in self.lists},
                "schemes": {scheme.code: scheme for scheme in (self.points, self.tiers)},
            }
        )


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    lists = tuple(draw(credit_lists(number)) for number in range(draw(st.integers(1, 3))))
    codes = [item.code for item in lists]
    return Policy(lists, draw(points_schemes(codes)), draw(tiers_schemes(codes)))


@dataclass(frozen=True)
class Stored:
    """One generated record as the store would hold it: its subject and the record as the
    national catalogue (which every generated pack shares) reads it."""

    subject_id: int
    facts: RecordFact


def stored_fact(
    number: int,
    code: str,
    decided: date,
    effective: date,
    severity: str,
    *,
    amount: float | None = None,
    fields: dict[str, Any] | None = None,
    status: str = "active",
    withdrawn_on: date | None = None,
) -> RecordFact:
    """Record ``number`` as the national catalogue reads it."""
    fact = record_fact(
        NATIONAL,
        record_id=number,
        document_key=f"doc|{number}",
        document_no=f"doc{number}",
        record_type=code,
        severity=severity,
        amount=amount,
        fields=fields or {},
        decided_on=decided,
        effective_on=effective,
        status=status,
        withdrawn_on=withdrawn_on,
    )
    assert fact is not None
    return fact


@st.composite
def records(draw: st.DrawFn, subjects: int) -> list[Stored]:
    made = []
    for number in range(1, draw(st.integers(0, 14)) + 1):
        code = draw(st.sampled_from(TYPES))
        decided = draw(days)
        effective = decided + timedelta(days=draw(st.integers(0, 40)))
        fields: dict[str, Any] = {}
        if draw(st.booleans()):
            fields["grade"] = draw(st.sampled_from(GRADES))
        if draw(st.booleans()):
            fields["case_no"] = draw(st.sampled_from(CASES))
        if draw(st.booleans()):
            fields["extra"] = draw(st.integers(-3, 30))
        status = draw(st.sampled_from(STATUSES))
        # A repair, like a withdrawal, ends what the record grounds from its day.
        withdrawn = (
            effective + timedelta(days=draw(st.integers(-5, 900)))
            if status in ENDED_STATUSES
            else None
        )
        facts = stored_fact(
            number,
            code,
            decided,
            effective,
            draw(st.sampled_from(severities(code))),
            amount=draw(st.none() | st.sampled_from([0.0, 999.5, 1000.0, 70000.0])),
            fields=fields,
            status=status,
            withdrawn_on=withdrawn,
        )
        made.append(Stored(draw(st.integers(1, subjects)), facts))
    return made


def kind_of(subject_id: int) -> SubjectKind:
    return SubjectKind.PERSON if subject_id % 2 else SubjectKind.ORGANISATION


def records_table(stored: list[Stored], spec: FactsSpec) -> pa.Table:
    """The ``records`` facts, as ``read_facts`` renders them (JSON text, integer fields)."""
    rows = []
    for item in stored:
        facts = item.facts
        row: dict[str, Any] = {
            "subject_id": item.subject_id,
            "record_id": facts.record_id,
            "document_key": facts.document_key,
            "record_type": facts.record_type,
            "decided_on": facts.decided_on,
            "effective_on": facts.effective_on,
            "severity": facts.severity,
            "amount": facts.amount,
            "status": facts.status,
            "withdrawn_on": facts.withdrawn_on,
        }
        for name in spec.fields:
            value = facts.fields.get(name)
            present = name in facts.fields
            row[spec.text(name)] = json_text(value) if present else None
            row[spec.integer(name)] = value if isinstance(value, int) else None
        rows.append(row)
    schema = pa.schema(
        [
            ("subject_id", pa.int64()),
            ("record_id", pa.int64()),
            ("document_key", pa.string()),
            ("record_type", pa.string()),
            ("decided_on", pa.date32()),
            ("effective_on", pa.date32()),
            ("severity", pa.string()),
            ("amount", pa.float64()),
            ("status", pa.string()),
            ("withdrawn_on", pa.date32()),
            *(
                field
                for name in spec.fields
                for field in ((spec.text(name), pa.string()), (spec.integer(name), pa.int64()))
            ),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def subjects_table(subjects: int) -> pa.Table:
    ids = list(range(1, subjects + 1))
    return pa.table(
        {"subject_id": pa.array(ids, pa.int64()), "kind": [kind_of(i).value for i in ids]}
    )


def entries_table(entries: dict[int, list[Entry]]) -> pa.Table:
    """Entries as the store holds them: numbered in the order they were written."""
    rows = [
        {
            "entry_id": number,
            "subject_id": subject_id,
            "list_code": entry.list_code,
            "record_id": entry.record_id,
            "started_on": entry.started_on,
            "ended_on": entry.ended_on,
        }
        for number, (subject_id, entry) in enumerate(
            ((s, e) for s in sorted(entries) for e in entries[s]), start=1
        )
        if entry.ended_on > entry.started_on
    ]
    schema = pa.schema(
        [
            ("entry_id", pa.int64()),
            ("subject_id", pa.int64()),
            ("list_code", pa.string()),
            ("record_id", pa.int64()),
            ("started_on", pa.date32()),
            ("ended_on", pa.date32()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def subject_facts(subject_id: int, stored: list[Stored], entries: list[Entry]) -> SubjectFacts:
    """What the reference scorer reads about one subject."""
    mine = [
        item.facts
        for item in sorted(stored, key=lambda item: item.facts.record_id)
        if item.subject_id == subject_id
    ]
    return SubjectFacts(
        subject_id,
        f"subject{subject_id}",
        kind_of(subject_id),
        tuple(mine),
        tuple(
            EntryFact(entry.list_code, entry.record_id, entry.started_on, entry.ended_on)
            for entry in entries
            if entry.ended_on > entry.started_on
        ),
    )

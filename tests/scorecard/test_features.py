"""Features come from the subject's own financial records only."""

import math
from datetime import date
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from xinyong.policy import Category, Domain, Pack
from xinyong.records.facts import RecordFact, record_fact
from xinyong.scorecard.features import FEATURE_NAMES, features_of


def fact(
    record_type: str,
    domain: Domain,
    *,
    fields: dict[str, Any],
    amount: float | None = None,
    severity: str = "none",
    status: str = "active",
    number: int = 1,
) -> RecordFact:
    return RecordFact(
        record_id=number,
        document_key=f"key|D{number}",
        document_no=f"D{number}",
        record_type=record_type,
        category=Category.CONTRACT_PERFORMANCE,
        domain=domain,
        severity=severity,
        amount=amount,
        fields=fields,
        decided_on=date(2025, 1, 1),
        effective_on=date(2025, 1, 2),
        status=status,
        publicity_ends_on=None,
    )


def same(left: dict[str, float], right: dict[str, float]) -> bool:
    return all(
        (math.isnan(left[name]) and math.isnan(right[name])) or left[name] == right[name]
        for name in FEATURE_NAMES
    )


financial_records = st.one_of(
    st.builds(
        lambda kind: fact(
            "bank.credit_account_opened", Domain.FINANCIAL, fields={"loan_kind": kind}
        ),
        st.sampled_from(["mortgage", "consumer", "credit_card"]),
    ),
    st.builds(
        lambda used: fact(
            "bank.card_account_status", Domain.FINANCIAL, fields={"utilisation_pct": used}
        ),
        st.integers(0, 150),
    ),
    st.builds(
        lambda months: fact(
            "bank.loan_repaid_on_time", Domain.FINANCIAL, fields={"months": months}
        ),
        st.integers(1, 60),
    ),
    st.builds(
        lambda days, amount: fact(
            "bank.loan_default",
            Domain.FINANCIAL,
            fields={"days_overdue": days},
            amount=amount,
            severity="general",
        ),
        st.integers(1, 720),
        st.floats(1, 1e6),
    ),
)
json_values = st.one_of(st.integers(-1000, 1000), st.text(max_size=5), st.booleans(), st.none())
public_records = st.builds(
    lambda record_type, fields, amount, severity: fact(
        record_type, Domain.PUBLIC, fields=fields, amount=amount, severity=severity
    ),
    # Public records of any type: also ones that copy a financial type's code and fields.
    st.sampled_from(
        [
            "admin.penalty",
            "court.defaulter_listing",
            "honour.commendation",
            "bank.loan_default",
            "bank.card_account_status",
            "bank.credit_account_opened",
        ]
    ),
    st.dictionaries(
        st.sampled_from(["days_overdue", "utilisation_pct", "months", "loan_kind", "grade"]),
        json_values,
    ),
    st.one_of(st.none(), st.floats(0, 1e7)),
    st.sampled_from(["minor", "general", "serious", "none"]),
)


@given(
    own=st.lists(financial_records, max_size=12),
    public=st.lists(public_records, min_size=1, max_size=12),
    data=st.data(),
)
def test_a_public_record_never_changes_a_feature(
    own: list[RecordFact], public: list[RecordFact], data: st.DataObject
) -> None:
    mixed = data.draw(st.permutations(own + public))
    assert same(features_of(mixed), features_of(own))


@given(
    own=st.lists(financial_records, max_size=12), withdrawn=st.lists(financial_records, min_size=1)
)
def test_a_withdrawn_record_never_changes_a_feature(
    own: list[RecordFact], withdrawn: list[RecordFact]
) -> None:
    revoked = [
        fact(
            r.record_type,
            r.domain,
            fields=dict(r.fields),
            amount=r.amount,
            severity=r.severity,
            status="withdrawn",
        )
        for r in withdrawn
    ]
    assert same(features_of(own + revoked), features_of(own))


def test_features_count_and_measure_the_records(financial: Pack) -> None:
    records = [
        fact("bank.credit_account_opened", Domain.FINANCIAL, fields={"loan_kind": "credit_card"}),
        fact("bank.credit_account_opened", Domain.FINANCIAL, fields={"loan_kind": "mortgage"}),
        fact("bank.card_account_status", Domain.FINANCIAL, fields={"utilisation_pct": 40}),
        fact("bank.card_account_status", Domain.FINANCIAL, fields={"utilisation_pct": 85}),
        fact("bank.loan_repaid_on_time", Domain.FINANCIAL, fields={"months": 12}),
        fact("bank.loan_repaid_on_time", Domain.FINANCIAL, fields={"months": 24}),
        fact("bank.loan_repaid_on_time", Domain.FINANCIAL, fields={"months": 6}),
        fact(
            "bank.loan_default", Domain.FINANCIAL, fields={"days_overdue": 30}, severity="general"
        ),
        fact(
            "bank.loan_default", Domain.FINANCIAL, fields={"days_overdue": 120}, severity="serious"
        ),
    ]
    assert features_of(records) == {
        "credit_accounts": 2.0,
        "card_utilisation": 85.0,
        "on_time_repayments": 3.0,
        "months_repaid_on_time": 42.0,
        "overdue_events": 2.0,
        "max_days_overdue": 120.0,
    }
    empty = features_of([])
    assert math.isnan(empty.pop("card_utilisation"))
    assert set(empty.values()) == {0.0}


def test_the_pack_marks_every_type_the_features_read_as_financial(financial: Pack) -> None:
    """A record built from the catalogue gets its domain from it: a public type is skipped."""
    built = record_fact(
        financial,
        record_id=1,
        document_key="key|X",
        document_no="X",
        record_type="admin.penalty",
        severity="general",
        amount=500.0,
        fields={},
        decided_on=date(2025, 1, 1),
        effective_on=date(2025, 1, 1),
        status="active",
    )
    assert built is not None and built.domain is Domain.PUBLIC
    for code in (
        "bank.credit_account_opened",
        "bank.card_account_status",
        "bank.loan_repaid_on_time",
        "bank.loan_default",
    ):
        assert financial.record_types[code].domain is Domain.FINANCIAL

"""The scorecard's features: numbers computed from one subject's own financial records.

``features_of`` is handed one subject's records and reads only those whose record type is
in the ``financial`` domain: a public record (a penalty, a court listing, an honour) is
skipped whatever it says, so no public record and no other subject can move a feature.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from xinyong.policy import Domain
from xinyong.records.facts import WITHDRAWN

ACCOUNT_OPENED = "bank.credit_account_opened"
CARD_STATUS = "bank.card_account_status"
REPAID_ON_TIME = "bank.loan_repaid_on_time"
OVERDUE = "bank.loan_default"
RECORD_TYPES = (ACCOUNT_OPENED, CARD_STATUS, REPAID_ON_TIME, OVERDUE)
"""The record types the features read (all financial, all in the national catalogue)."""


class FinancialRecord(Protocol):
    """What the features read of a record (``xinyong.records.facts.RecordFact`` is one)."""

    @property
    def record_type(self) -> str: ...
    @property
    def domain(self) -> Domain: ...
    @property
    def severity(self) -> str: ...
    @property
    def amount(self) -> float | Decimal | None: ...
    @property
    def fields(self) -> Mapping[str, Any]: ...
    @property
    def effective_on(self) -> date: ...
    @property
    def status(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    description: str


FEATURES = (
    Feature("credit_accounts", "credit accounts opened (loans and cards)"),
    Feature(
        "card_utilisation",
        "highest share of a card's limit in use on its last statement, in percent "
        "(missing without a card)",
    ),
    Feature("on_time_repayments", "loans repaid on time"),
    Feature("months_repaid_on_time", "months of instalments on loans repaid on time"),
    Feature("overdue_events", "overdue events reported by lenders"),
    Feature("max_days_overdue", "longest overdue event, in days (0 without one)"),
)
FEATURE_NAMES = tuple(feature.name for feature in FEATURES)


def financial_only(records: Iterable[FinancialRecord]) -> list[FinancialRecord]:
    """The records a feature may read: current (not withdrawn) and of a financial type."""
    return [
        record
        for record in records
        if record.domain == Domain.FINANCIAL and record.status != WITHDRAWN
    ]


def features_of(records: Iterable[FinancialRecord]) -> dict[str, float]:
    """The features of the subject whose records these are; ``nan`` marks a missing value."""
    counts = dict.fromkeys(RECORD_TYPES, 0)
    utilisation = math.nan
    months = max_days = 0.0
    for record in financial_only(records):
        kind = record.record_type
        if kind not in counts:
            continue
        counts[kind] += 1
        fields = record.fields
        if kind == CARD_STATUS:
            used = float(fields.get("utilisation_pct", 0))
            utilisation = used if math.isnan(utilisation) else max(utilisation, used)
        elif kind == REPAID_ON_TIME:
            months += float(fields.get("months", 0))
        elif kind == OVERDUE:
            max_days = max(max_days, float(fields.get("days_overdue", 0)))
    return {
        "credit_accounts": float(counts[ACCOUNT_OPENED]),
        "card_utilisation": utilisation,
        "on_time_repayments": float(counts[REPAID_ON_TIME]),
        "months_repaid_on_time": months,
        "overdue_events": float(counts[OVERDUE]),
        "max_days_overdue": max_days,
    }

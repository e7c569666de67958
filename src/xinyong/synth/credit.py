"""Credit histories: what lenders report about a person's own credit, and whether they default.

About a quarter of adults borrow. Each borrower has a latent risk, a standard normal draw that
is written nowhere: it drives what the records show (more credit accounts, fuller cards,
fewer on-time repayments, more and longer overdue events) and, on its own stream, the
**default outcome**: whether the borrower defaults in the ``OUTCOME_MONTHS`` after the as-of
date. A scorecard can learn the outcome from the records, never exactly, since the records
are noisy. The outcome is no record: ``generate`` writes it to a file of its own for
training, and it never enters the store.

Everything is keyed by the person's index on streams of its own, so a credit history is the
same on every run and changes nothing else in the city.
"""

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from statistics import NormalDist
from typing import Any

from xinyong.synth.conduct import money, weighted
from xinyong.synth.days import uniform_day
from xinyong.synth.population import entity_random, entity_unit, stream_key

STREAM_CREDIT_RISK = 20
STREAM_CREDIT_HISTORY = 21
STREAM_CREDIT_OUTCOME = 22

BORROWER_SHARE = 0.25
OUTCOME_MONTHS = 12
# Odds of default: logit p = BASE + SLOPE * risk, about one borrower in ten.
DEFAULT_LOGIT_BASE = -2.6
DEFAULT_LOGIT_SLOPE = 1.2
MAX_ACCOUNTS = 8
MAX_REPAYMENTS = 6
MAX_OVERDUE = 6
MAX_DAYS_OVERDUE = 720

ACCOUNT_OPENED = "bank.credit_account_opened"
CARD_STATUS = "bank.card_account_status"
REPAID_ON_TIME = "bank.loan_repaid_on_time"
OVERDUE = "bank.loan_default"
RECORD_TYPES = (ACCOUNT_OPENED, CARD_STATUS, REPAID_ON_TIME, OVERDUE)

LOAN_KINDS = {
    "credit_card": 0.45,
    "consumer": 0.25,
    "mortgage": 0.15,
    "business": 0.05,
    "student": 0.05,
    "other": 0.05,
}
LIMITS = {
    "mortgage": (300_000, 5_000_000),
    "business": (100_000, 3_000_000),
    "credit_card": (5_000, 100_000),
    "student": (8_000, 60_000),
}
OTHER_LIMIT = (5_000, 300_000)
TERMS = {"mortgage": (120, 360), "business": (12, 60), "student": (24, 96)}
OTHER_TERM = (6, 36)

_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class CreditEvent:
    """One record a lender reports: type, decision day, grade, amount (yuan) and fields."""

    record_type: str
    decided_on: date
    severity: str
    amount: float
    fields: Mapping[str, Any]


def default_probability(risk: float) -> float:
    """Chance that a borrower of latent ``risk`` defaults within ``OUTCOME_MONTHS``."""
    return 1.0 / (1.0 + math.exp(-(DEFAULT_LOGIT_BASE + DEFAULT_LOGIT_SLOPE * risk)))


def _poisson(rng: random.Random, mean: float, most: int) -> int:
    """A Poisson count (Knuth's method; the means here are small), at most ``most``."""
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit and count < most:
        count += 1
        product *= rng.random()
    return count


class CreditHistories:
    """The borrowers of one city (seed) and their histories up to ``as_of``."""

    def __init__(self, seed: int, as_of: date) -> None:
        self.seed = seed
        self.as_of = as_of
        self._risk_key = stream_key(seed, STREAM_CREDIT_RISK)
        self._outcome_key = stream_key(seed, STREAM_CREDIT_OUTCOME)

    def risk(self, index: int) -> float | None:
        """The latent risk of person ``index``; ``None`` for a person who does not borrow.

        One draw decides both: below ``BORROWER_SHARE`` the person borrows, and the draw,
        rescaled, is the quantile of the risk."""
        draw = entity_unit(self._risk_key, index)
        if draw >= BORROWER_SHARE:
            return None
        return _NORMAL.inv_cdf(max(draw / BORROWER_SHARE, 1e-12))

    def defaulted(self, index: int, risk: float) -> bool:
        return entity_unit(self._outcome_key, index) < default_probability(risk)

    def rng(self, index: int) -> random.Random:
        return entity_random(self.seed, STREAM_CREDIT_HISTORY, index)

    def history(self, rng: random.Random, risk: float, first_day: date) -> list[CreditEvent]:
        """What lenders report about a borrower of latent ``risk`` from ``first_day`` on."""
        events: list[CreditEvent] = []
        accounts = 1 + _poisson(rng, math.exp(-0.2 + 0.35 * risk), MAX_ACCOUNTS - 1)
        for _ in range(accounts):
            events.extend(self._account(rng, risk, first_day))
        for _ in range(_poisson(rng, 0.07 * math.exp(0.95 * risk), MAX_OVERDUE)):
            days = 1 + int(rng.expovariate(1.0 / (25.0 * math.exp(0.5 * risk))))
            days = min(days, MAX_DAYS_OVERDUE)
            fields = {"days_overdue": days, "loan_kind": weighted(rng, LOAN_KINDS)}
            events.append(
                CreditEvent(
                    OVERDUE,
                    uniform_day(rng, first_day, self.as_of),
                    "serious" if days > 90 else "general",
                    money(rng, 1_000, 200_000),
                    fields,
                )
            )
        return events

    def _account(self, rng: random.Random, risk: float, first_day: date) -> list[CreditEvent]:
        kind = weighted(rng, LOAN_KINDS)
        opened = uniform_day(rng, first_day, self.as_of)
        limit = money(rng, *LIMITS.get(kind, OTHER_LIMIT))
        fields: dict[str, Any] = {"loan_kind": kind}
        if kind != "credit_card":
            fields["term_months"] = rng.randint(*TERMS.get(kind, OTHER_TERM))
        events = [CreditEvent(ACCOUNT_OPENED, opened, "none", limit, fields)]
        if kind == "credit_card":
            used = 1.0 / (1.0 + math.exp(-(0.9 * risk - 0.6 + rng.gauss(0.0, 0.6))))
            events.append(
                CreditEvent(
                    CARD_STATUS,
                    uniform_day(rng, opened, self.as_of),
                    "none",
                    limit,
                    {"utilisation_pct": round(100 * used)},
                )
            )
        for _ in range(_poisson(rng, math.exp(-0.2 - 0.45 * risk), MAX_REPAYMENTS)):
            events.append(
                CreditEvent(
                    REPAID_ON_TIME,
                    uniform_day(rng, opened, self.as_of),
                    "none",
                    money(rng, min(1_000.0, limit), limit),
                    {"loan_kind": kind, "months": rng.randint(3, 36)},
                )
            )
        return events

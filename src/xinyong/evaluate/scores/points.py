"""The points kind (``xinyong.scoring.points``) as Ibis expressions over the facts.

- a record counts unless withdrawn (or, in a public scheme, repaired), under the first rule
  it matches, while ``effective_on <= day < end of its window`` (never past its maximum
  publicity period);
- caps are running totals in order of effective date, then record id: under a rule's cap
  of ``C`` points the ``k``-th record (from 0) gets ``clamp(C - k·|p|, 0, |p|)``; under a
  category's cap, additions and deductions apart, a record gets
  ``min(cum, C) - min(cum - |a|, C)`` where ``cum`` is the running sum including it;
- the value is the base plus the sum, clamped; bands give the grade unless an override
  (a tier, ``xinyong.evaluate.scores.tiers``) holds.

The plan is shaped for a scan of many records: cheap tests on plain columns drop most
of them first; small tables of the rules' keys, days and caps (joins, not CASEs or month
arithmetic per record) give each remaining record its rule, points and window; only the
capped records of the few subjects whose capped records are worth more than a cap go through
the running totals (sorts by subject), the others stream straight into the contributions.
The scores are summed from the contributions as the caller kept them
(``ScorePlan.scores_of``), so the records are read once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from xinyong.evaluate.calendar import add_months
from xinyong.evaluate.casts import exact_int
from xinyong.evaluate.conditions import grades, has_value_tests, meets_values
from xinyong.evaluate.scores.plan import (
    CONTRIBUTION_SCHEMA,
    Inputs,
    ScorePlan,
    counts,
    null_int,
    rated_kinds,
    rated_subjects,
)
from xinyong.evaluate.scores.tiers import TierResult, chosen_tiers, tier_grade
from xinyong.policy import Pack
from xinyong.policy.schemes import Band, PointsRule, PointsScheme
from xinyong.records.facts import add_months as add_months_to

POINTS_COLUMNS = (
    "subject_id",
    "record_id",
    "record_type",
    "decided_on",
    "effective_on",
    "severity",
    "amount",
    "status",
)
"""The facts a points rule reads, besides the fields it names."""


def points_plan(pack: Pack, scheme: PointsScheme, inputs: Inputs) -> ScorePlan:
    """The contributions and scores of every subject the scheme rates."""
    rated = rated_subjects(scheme, inputs)
    counting = inputs.engine.share(_counting(pack, scheme, inputs))
    # Only records under a capped rule or of a capped category may need a running total (a
    # sort by subject); the others stream straight through with their rule's points. The caps
    # are joined to the capped ones alone.
    free = counting.filter(~counting.limited).mutate(points=counting.rule_points)
    caps = _caps_table(pack, scheme, inputs)
    limited = counting.filter(counting.limited).join(caps, "rule_index")
    # A subject's capped records can lose points only if together they are worth more than
    # the tightest cap any of them is under: few subjects' are, and only theirs are sorted
    # (only integers go through the sorts). The others keep their rule's points.
    by_subject = limited.group_by("subject_id").aggregate(
        worth=limited.rule_points.abs().sum(), tightest=limited.tightest_cap.min()
    )
    at_risk = by_subject.filter(by_subject.worth > by_subject.tightest).select("subject_id")
    # (An anti-join for the safe records and an IN for the others: two kinds of reference,
    # so the compiled query names the subjects at risk once and computes them once. The
    # capped records' filter is written where it is used: named, it would be one more shared
    # table for the query to hold.)
    safe = counting.filter(counting.limited).anti_join(at_risk, "subject_id")
    safe = safe.mutate(points=safe.rule_points)
    risky = counting.filter(counting.limited & counting.subject_id.isin(at_risk.subject_id))
    capped = _category_capped(_rule_capped(risky.join(caps, "rule_index")))
    granted = ibis.union(
        *(
            stream.filter(stream.points != 0).select(
                "subject_id",
                "record_id",
                "rule_index",
                "points",
                window_start="effective_on",
                window_end="window_end",
            )
            for stream in (free, safe, capped)
        )
    )
    codes = inputs.engine.policy_table(
        "rule_codes",
        pa.table(
            {
                "rule_index": pa.array(range(len(scheme.rules)), pa.int64()),
                "rule": pa.array([rule.code for rule in scheme.rules], pa.string()),
            }
        ),
    )
    named = granted.join(codes, "rule_index")
    contributions = named.select(
        "subject_id",
        "record_id",
        "rule",
        "points",
        "window_start",
        "window_end",
        section=exact_int(ibis.literal(0)),
        ordinal=null_int(),
    ).cast(CONTRIBUTION_SCHEMA)

    def valued_of(kept: ir.Table) -> ir.Table:
        # The overrides' evidence has no points: the sum is that of the points alone.
        totals = kept.group_by("subject_id").aggregate(total=kept.points.sum())
        return rated.left_join(totals, "subject_id").select(
            "subject_id",
            value=exact_int(
                ibis.greatest(
                    ibis.least(scheme.base + totals.total.fill_null(0), scheme.max), scheme.min
                )
            ),
        )

    if not scheme.overrides:

        def banded(kept: ir.Table) -> ir.Table:
            valued = valued_of(kept)
            return valued.select(
                "subject_id", "value", grade=_band_grade(scheme.bands, valued.value)
            )

        return ScorePlan(contributions, banded)

    def overridden(valued: ir.Table) -> TierResult:
        return chosen_tiers(pack, scheme, scheme.overrides, "overrides", inputs, valued)

    # The overrides' evidence depends on the values: the points are computed once for both.
    contributions = inputs.engine.materialise(contributions)
    evidence = overridden(valued_of(contributions)).evidence

    def graded(kept: ir.Table) -> ir.Table:
        chosen = overridden(valued_of(kept)).chosen
        grade = ibis.ifelse(
            chosen.chosen.isnull(),
            _band_grade(scheme.bands, chosen.value),
            tier_grade(scheme.overrides, chosen.chosen),
        )
        return chosen.select("subject_id", "value", grade=grade)

    return ScorePlan(ibis.union(contributions, evidence), graded)


def _counting(pack: Pack, scheme: PointsScheme, inputs: Inputs) -> ir.Table:
    """The records that count on the day, of rated subjects, with their rule and window.

    ``subject_id``, ``record_id``, ``effective_on``, ``rule_index``, ``rule_points`` and
    ``limited`` (of the rule, ``_rule_days``) and ``window_end`` (the window starts on
    ``effective_on``).
    """
    records = inputs.records
    rules = scheme.rules
    keys = _rule_keys(pack, scheme, inputs)
    # Cheap tests on plain columns first, implied by the exact ones below: many records are
    # too old, and need not reach the joins or the rule tests at all. (The join below drops
    # the records of other types: a test of the type here costs more than it saves.)
    possible = records.filter(
        counts(scheme, records)
        & records.effective_on.between(
            min(first_counting_day(inputs.day, rule.window_months) for rule in rules), inputs.day
        )
        & (records.decided_on >= keys.earliest)
    )
    # A record's type and grade are matched by a join with a small table of the pairs the
    # rules read, as a bare join would; each rule then needs only an integer test of the
    # pair and its amount and field conditions.
    # Only the columns the rules read: the others would be read and copied for nothing.
    read = sorted({inputs.spec.text(name) for rule in rules for name in rule.fields})
    keyed = possible.select(*POINTS_COLUMNS, *read).join(keys.table, ["record_type", "severity"])
    # A record's rule is the first it matches. Mostly the pair alone decides it (the key table
    # says which); a CASE over the rules with amount or field conditions decides the rest.
    tested = [
        (index, keyed.pair.isin(pairs) & meets_values(keyed, inputs.spec, rules[index]))
        for index, pairs in enumerate(keys.pairs)
        if not keys.fixed.issuperset(pairs)
    ]
    rule_index: ir.IntegerValue = keyed.fixed_rule
    if tested:
        rule_index = ibis.ifelse(
            keyed.fixed_rule.notnull(),
            keyed.fixed_rule,
            ibis.cases(*((match, index) for index, match in tested), else_=null_int()),
        )
    # The rule's window is found by a join with a small table of its days: one row for each
    # day a record may take effect on and still count, with the end of its window from that
    # day. It also drops the records too old for their rule, and spares the month arithmetic
    # (a calendar conversion each) on every record.
    indexed = keyed.mutate(rule_index=rule_index).drop(*read)
    days = _rule_days(pack, scheme, inputs)
    ruled = indexed.join(
        days,
        [indexed.rule_index == days.rule_index, indexed.effective_on == days.effective_day],
    )
    # Within the maximum publicity period of its type and grade; its end is found the same
    # way, by the day of the decision (the arithmetic is left for a record decided after the
    # day, which no table of days before it can hold).
    held = ruled.filter(ruled.decided_on >= ruled.publicity_from)
    ends = _publicity_days(keys, inputs)
    published = held.left_join(ends, [held.pair == ends.pair, held.decided_on == ends.decided_day])
    # Every rule has a window, so its end is never NULL: no end of publicity leaves it alone.
    window_end = ibis.least(
        published.rule_end,
        ibis.coalesce(
            published.publicity_end,
            add_months(published.decided_on, published.max_months),
            published.rule_end,
        ),
    )
    # Every record's subject is a subject (a reference the store keeps): leaving out those of
    # the kinds the scheme does not rate keeps the rated ones, and hashes only the others,
    # where a join with the rated subjects would hash all of them.
    subjects = inputs.subjects
    others = subjects.filter(~subjects.kind.isin(rated_kinds(scheme))).select("subject_id")
    counted = published.mutate(window_end=window_end).anti_join(others, "subject_id")
    return counted.select(
        "subject_id",
        "record_id",
        "effective_on",
        "rule_index",
        "rule_points",
        "limited",
        "window_end",
    )


def first_counting_day(day: date, months: int) -> date:
    """The earliest start whose window of ``months`` still covers ``day``.

    ``add_months`` never decreases as its start grows, so ``start + months > day`` holds
    exactly for the starts from this day on.
    """
    low, high = day - timedelta(days=31 * months + 31), day + timedelta(days=1)
    while low < high:
        middle = low + (high - low) // 2
        if add_months_to(middle, months) > day:
            high = middle
        else:
            low = middle + timedelta(days=1)
    return low


def _rule_days(pack: Pack, scheme: PointsScheme, inputs: Inputs) -> ir.Table:
    """``rule_index``, ``effective_day``, ``rule_end``, ``rule_points`` and ``limited``: for
    each rule, every day a record taking effect on it still counts on the day, the end of its
    window, its points, and whether its records need a running total (its rule or its type's
    category has a cap)."""
    rows = [
        (
            index,
            start,
            add_months_to(start, rule.window_months),
            rule.points,
            _limited(pack, scheme, rule),
        )
        for index, rule in enumerate(scheme.rules)
        for start in _days(first_counting_day(inputs.day, rule.window_months), inputs.day)
    ]
    return _rows_table(
        inputs,
        "rule_days",
        {
            "rule_index": pa.int64(),
            "effective_day": pa.date32(),
            "rule_end": pa.date32(),
            "rule_points": pa.int64(),
            "limited": pa.bool_(),
        },
        rows,
    )


def _limited(pack: Pack, scheme: PointsScheme, rule: PointsRule) -> bool:
    return rule.cap is not None or (
        pack.record_type(rule.record_type).category in scheme.category_caps
    )


def _publicity_days(keys: _RuleKeys, inputs: Inputs) -> ir.Table:
    """``pair``, ``decided_day``, ``publicity_end``: for each type and grade with a maximum
    publicity period, every day of a decision still within it on the day, and its end."""
    rows = [
        (pair, decided, add_months_to(decided, months))
        for pair, (start, months) in enumerate(zip(keys.starts, keys.months, strict=True))
        if months is not None
        for decided in _days(start, inputs.day)
    ]
    return _rows_table(
        inputs,
        "publicity_days",
        {"pair": pa.int64(), "decided_day": pa.date32(), "publicity_end": pa.date32()},
        rows,
    )


def _rows_table(
    inputs: Inputs, name: str, columns: dict[str, pa.DataType], rows: Sequence[tuple[object, ...]]
) -> ir.Table:
    """A small table the plan builds from policy, with these columns, from its rows."""
    values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    return inputs.engine.policy_table(
        name,
        pa.table(
            {
                column: pa.array(list(items), kind)
                for (column, kind), items in zip(columns.items(), values, strict=True)
            }
        ),
    )


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _caps_table(pack: Pack, scheme: PointsScheme, inputs: Inputs) -> ir.Table:
    """The caps of each rule, by ``rule_index``: ``rule_cap``, ``category_cap``, the
    ``category`` (a number) the latter applies to, and ``tightest_cap``, the lower of the two
    (NULL for a rule under neither)."""
    rules = scheme.rules
    categories = [pack.record_type(rule.record_type).category for rule in rules]
    numbers = {category: number for number, category in enumerate(sorted(set(categories)))}
    category_caps = [scheme.category_caps.get(category) for category in categories]
    return inputs.engine.policy_table(
        "caps",
        pa.table(
            {
                "rule_index": pa.array(range(len(rules)), pa.int64()),
                "rule_cap": pa.array([rule.cap for rule in rules], pa.int64()),
                "category": pa.array([numbers[category] for category in categories], pa.int64()),
                "category_cap": pa.array(category_caps, pa.int64()),
                "tightest_cap": pa.array(
                    [
                        min(
                            (cap for cap in (rule.cap, category_cap) if cap is not None),
                            default=None,
                        )
                        for rule, category_cap in zip(rules, category_caps, strict=True)
                    ],
                    pa.int64(),
                ),
            }
        ),
    )


@dataclass(frozen=True)
class _RuleKeys:
    table: ir.Table
    """``record_type``, ``severity``, ``pair``, ``publicity_from`` (the earliest decision
    day still within the maximum publicity period on the day) and ``max_months`` (that
    period, NULL for none)."""
    pairs: list[list[int]]
    """For each rule, the pairs (type and grade) it reads."""
    starts: list[date]
    """For each pair, its ``publicity_from``."""
    months: list[int | None]
    """For each pair, its ``max_months``."""
    fixed: set[int]
    """The pairs whose rule the pair alone decides (``fixed_rule``, NULL for the others)."""

    @property
    def earliest(self) -> date:
        """The earliest ``publicity_from`` of any pair."""
        return min(self.starts)


def _rule_keys(pack: Pack, scheme: PointsScheme, inputs: Inputs) -> _RuleKeys:
    day = inputs.day
    rows: list[tuple[str, str, int | None]] = [
        (code, severity.value, months)
        for code in sorted({rule.record_type for rule in scheme.rules})
        for severity, months in grades(pack, code)
    ]
    # No scheme counts a record past its maximum publicity period.
    starts = [
        date.min if months is None else first_counting_day(day, months) for _, _, months in rows
    ]
    pairs = [
        [
            number
            for number, (code, severity, _) in enumerate(rows)
            if code == rule.record_type and (not rule.severities or severity in rule.severities)
        ]
        for rule in scheme.rules
    ]
    # A pair's rule is fixed when the first rule reading it has no amount or field condition.
    first = {
        number: next((index for index, read in enumerate(pairs) if number in read), None)
        for number in range(len(rows))
    }
    fixed = {
        number: index
        for number, index in first.items()
        if index is not None and not has_value_tests(scheme.rules[index])
    }
    table = inputs.engine.policy_table(
        "rule_keys",
        pa.table(
            {
                "record_type": pa.array([code for code, _, _ in rows], pa.string()),
                "severity": pa.array([severity for _, severity, _ in rows], pa.string()),
                "pair": pa.array(range(len(rows)), pa.int64()),
                "publicity_from": pa.array(starts, pa.date32()),
                "max_months": pa.array([months for _, _, months in rows], pa.int64()),
                "fixed_rule": pa.array(
                    [fixed.get(number) for number in range(len(rows))], pa.int64()
                ),
            }
        ),
    )
    return _RuleKeys(table, pairs, starts, [months for _, _, months in rows], set(fixed))


def _rule_capped(limited: ir.Table) -> ir.Table:
    """``after_rule``: each record's points under its rule's cap (if any).

    Under a cap of ``C`` points the ``k``-th record (from 0) gets ``clamp(C - k·|p|, 0, |p|)``.
    """
    size = limited.rule_points.abs()
    rank = ibis.row_number().over(
        group_by=[limited.subject_id, limited.rule_index],
        order_by=[limited.effective_on, limited.record_id],
    )
    left = ibis.greatest(ibis.least(limited.rule_cap - rank * size, size), 0)
    granted = ibis.ifelse(limited.rule_points > 0, left, -left)
    return limited.mutate(
        after_rule=ibis.ifelse(limited.rule_cap.isnull(), limited.rule_points, granted).cast(
            "int64"
        )
    )


def _category_capped(ruled: ir.Table) -> ir.Table:
    """``points``: after the category caps (additions and deductions capped apart), if any.

    A record gets ``min(cum, C) - min(cum - |a|, C)`` where ``cum`` is the running sum of
    its category's additions (or deductions) including it.
    """
    points: ir.IntegerValue = ruled.after_rule
    size = points.abs()
    # DuckDB sums BIGINT as HUGEINT, and would carry it into the points.
    running = exact_int(
        size.sum().over(
            ibis.window(
                group_by=[ruled.subject_id, ruled.category, points > 0],
                order_by=[ruled.effective_on, ruled.record_id],
                rows=(None, 0),
            )
        )
    )
    cap = ruled.category_cap
    left = ibis.least(running, cap) - ibis.least(running - size, cap)
    granted = ibis.ifelse(points > 0, left, -left)
    return ruled.mutate(points=ibis.ifelse(cap.isnull(), points, granted).cast("int64")).drop(
        "after_rule"
    )


def _band_grade(bands: Sequence[Band], value: ir.IntegerValue) -> ir.StringValue:
    branches = []
    for band in bands:
        holds: ir.BooleanValue = ibis.literal(True)
        if band.min is not None:
            holds &= value >= band.min
        if band.max is not None:
            holds &= value <= band.max
        branches.append((holds, band.grade))
    grade: ir.StringValue = ibis.cases(*branches, else_=ibis.null("string"))
    return grade

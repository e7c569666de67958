"""Record conditions (type, grades, amounts, field values) as Ibis predicates over the facts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ibis
import ibis.expr.types as ir
from pydantic import JsonValue

from xinyong.evaluate.facts import FactsSpec, json_text
from xinyong.policy import Pack
from xinyong.policy.schemes import RecordCondition

NULL_JSON = json_text(None)


def field_value(records: ir.Table, spec: FactsSpec, name: str) -> ir.StringValue:
    """A field's JSON text, ``null`` when absent: Python's ``fields.get(name)`` reads both as None."""
    value: ir.StringValue = records[spec.text(name)].fill_null(NULL_JSON)
    return value


def record_matches(
    records: ir.Table,
    spec: FactsSpec,
    *,
    record_type: str,
    severities: Sequence[str] = (),
    min_amount: float | None = None,
    max_amount: float | None = None,
    fields: Mapping[str, Sequence[JsonValue]] | None = None,
) -> ir.BooleanValue:
    """Whether a record meets a rule's conditions (a NULL amount fails any amount bound)."""
    predicate: ir.BooleanValue = records.record_type == record_type
    if severities:
        predicate &= records.severity.isin(list(severities))
    return predicate & value_matches(
        records, spec, min_amount=min_amount, max_amount=max_amount, fields=fields
    )


def value_matches(
    records: ir.Table,
    spec: FactsSpec,
    *,
    min_amount: float | None = None,
    max_amount: float | None = None,
    fields: Mapping[str, Sequence[JsonValue]] | None = None,
) -> ir.BooleanValue:
    """Whether a record's amount and fields meet a rule's conditions (type and grade aside)."""
    predicate: ir.BooleanValue = ibis.literal(True)
    if min_amount is not None:
        predicate &= records.amount.notnull() & (records.amount >= min_amount)
    if max_amount is not None:
        predicate &= records.amount.notnull() & (records.amount <= max_amount)
    for name, allowed in (fields or {}).items():
        predicate &= field_value(records, spec, name).isin([json_text(v) for v in allowed])
    return predicate


def has_value_tests(condition: RecordCondition) -> bool:
    """Whether ``condition`` tests a record's amount or fields, besides its type and grade."""
    return (
        condition.min_amount is not None
        or condition.max_amount is not None
        or bool(condition.fields)
    )


def meets_values(records: ir.Table, spec: FactsSpec, condition: RecordCondition) -> ir.BooleanValue:
    """Whether a record's amount and fields meet ``condition`` (type and grade aside)."""
    return value_matches(
        records,
        spec,
        min_amount=condition.min_amount,
        max_amount=condition.max_amount,
        fields=condition.fields,
    )


def max_months(pack: Pack, records: ir.Table, record_types: Sequence[str]) -> ir.IntegerValue:
    """The maximum publicity period (months) of each record's type and grade; NULL if none."""
    branches = [
        (
            (records.record_type == code) & (records.severity == severity.value),
            ibis.literal(period.max_months, type="int64"),
        )
        for code in sorted(set(record_types))
        for severity, period in pack.record_type(code).severities.items()
        if period.max_months is not None
    ]
    if not branches:
        return ibis.null("int64")
    months: ir.IntegerValue = ibis.cases(*branches, else_=ibis.null("int64"))
    return months

"""Record conditions (amounts, field values) as Ibis predicates over the facts; a record's
type and grade are matched by joins with the plans' small tables of the pairs they read."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from xinyong.evaluate.facts import FactsSpec, json_text
from xinyong.policy import Pack
from xinyong.policy.catalogue import Severity
from xinyong.policy.lists import EntryRule
from xinyong.policy.schemes import RecordCondition

NULL_JSON = json_text(None)


def grades(pack: Pack, record_type: str) -> list[tuple[Severity, int | None]]:
    """Every grade a record of the type may carry, with its maximum publicity period in months
    (None for none). The store may hold grades the pack's catalogue no longer has (a later
    version dropped them): rules that name no grade read those as the reference does, and
    nothing in the catalogue ends their publicity."""
    periods = pack.record_type(record_type).severities
    return [
        (grade, None if (period := periods.get(grade)) is None else period.max_months)
        for grade in Severity
    ]


def field_value(records: ir.Table, spec: FactsSpec, name: str) -> ir.StringValue:
    """A field's JSON text, ``null`` when absent: Python's ``fields.get(name)`` reads both as None."""
    value: ir.StringValue = records[spec.text(name)].fill_null(NULL_JSON)
    return value


def _max_amount(condition: RecordCondition | EntryRule) -> float | None:
    # A list's entry rule has a least amount only.
    return condition.max_amount if isinstance(condition, RecordCondition) else None


def has_value_tests(condition: RecordCondition | EntryRule) -> bool:
    """Whether ``condition`` tests a record's amount or fields, besides its type and grade."""
    return (
        condition.min_amount is not None
        or _max_amount(condition) is not None
        or bool(condition.fields)
    )


def meets_values(
    records: ir.Table, spec: FactsSpec, condition: RecordCondition | EntryRule
) -> ir.BooleanValue:
    """Whether a record's amount and fields meet ``condition`` (type and grade aside; a NULL
    amount fails any amount bound)."""
    predicate: ir.BooleanValue = ibis.literal(True)
    if condition.min_amount is not None:
        predicate &= records.amount.notnull() & (records.amount >= condition.min_amount)
    if (max_amount := _max_amount(condition)) is not None:
        predicate &= records.amount.notnull() & (records.amount <= max_amount)
    for name, allowed in condition.fields.items():
        predicate &= field_value(records, spec, name).isin([json_text(v) for v in allowed])
    return predicate

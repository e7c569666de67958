"""The list entries of every subject, as one Ibis expression over the facts.

It states, in relational form, what ``xinyong.enforcement.rules.derive_entries`` does one
subject at a time: a record matching any entry rule of a list starts an entry on its
effective date; the entry runs for the list's duration plus any extension (capped), never
past the record's maximum publicity period; the first removal record of the subject (same
fields, effective on or after the grounding record, not withdrawn) ends it early, and a
withdrawal of the grounding decision ends it at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from xinyong.enforcement.rules import EndReason
from xinyong.evaluate.calendar import add_months, earliest
from xinyong.evaluate.conditions import field_value, grades, has_value_tests, meets_values
from xinyong.evaluate.engines import Engine
from xinyong.evaluate.facts import FactsSpec
from xinyong.evaluate.scores.plan import null_int
from xinyong.policy import Pack
from xinyong.policy.lists import CreditList, EntryRule


def entries_plan(pack: Pack, records: ir.Table, spec: FactsSpec, engine: Engine) -> ir.Table | None:
    """Every entry of every subject; ``None`` when the pack has no lists.

    ``list_rank`` (the list's place in the pack) and ``record_id`` order a subject's entries
    as the reference lists them. The lists are data, not expressions: a small table of the
    type-and-grade pairs each list's entry rules read (with the list's duration, extension
    cap and the pair's maximum publicity period) is joined once to the records, so the plan
    has the same few parts however many lists the pack has. The table has a row for every
    grade, those the pack's catalogue no longer has included (``grades``).
    """
    lists = list(pack.lists.values())
    if not lists:
        return None
    keys = _entry_keys(pack, lists, engine)
    keyed = records.join(keys.table, ["record_type", "severity"])
    # A pair's amount and field tests: none when some rule reading it has none, else any of
    # the rules'.
    tested = [
        (keyed.key == key, ibis.or_(*(meets_values(keyed, spec, rule) for rule in rules)))
        for key, rules in enumerate(keys.rules)
        if all(has_value_tests(rule) for rule in rules)
    ]
    matched = keyed.filter(ibis.cases(*tested, else_=ibis.literal(True))) if tested else keyed
    months: ir.IntegerValue = matched.duration_months
    extended = [(rank, item.extension) for rank, item in enumerate(lists) if item.extension]
    if extended:
        added: ir.IntegerValue = ibis.cases(
            *(
                (matched.list_rank == rank, matched[spec.integer(extension.field)])
                for rank, extension in extended
            ),
            else_=null_int(),
        )
        months = months + ibis.ifelse(
            added.notnull() & (added > 0), ibis.least(added, matched.extension_max), 0
        )
    period_end = earliest(
        add_months(matched.effective_on, months),
        add_months(matched.decided_on, matched.max_months),
    )
    grounded = matched.mutate(period_ends_on=period_end).filter(
        lambda t: t.period_ends_on > t.effective_on
    )
    if any(item.removal is not None for item in lists):
        grounded = _with_first_removal(lists, grounded, records, spec, engine)
    else:
        grounded = grounded.mutate(removal_id=null_int(), removal_on=ibis.null("date"))
    removed = grounded.removal_on.notnull() & (grounded.removal_on < grounded.period_ends_on)
    ended = ibis.ifelse(removed, grounded.removal_on, grounded.period_ends_on)
    reason = ibis.ifelse(removed, EndReason.REMOVED.value, EndReason.PERIOD.value)
    ended_by = ibis.ifelse(removed, grounded.removal_id, null_int())
    # A revoked decision ends every consequence at once; one revoked before it took effect
    # never held.
    withdrawn = grounded.withdrawn_on.notnull() & (grounded.withdrawn_on < ended)
    return grounded.select(
        subject_id=grounded.subject_id,
        list_code=grounded.list_code,
        list_rank=grounded.list_rank,
        document_key=grounded.document_key,
        record_id=grounded.record_id,
        started_on=grounded.effective_on,
        period_ends_on=grounded.period_ends_on,
        ended_on=ibis.ifelse(
            withdrawn, ibis.greatest(grounded.effective_on, grounded.withdrawn_on), ended
        ),
        end_reason=ibis.ifelse(
            withdrawn,
            ibis.ifelse(
                grounded.status == "repaired",
                EndReason.REPAIRED.value,
                EndReason.WITHDRAWN.value,
            ),
            reason,
        ),
        ended_by_record_id=ibis.ifelse(withdrawn, null_int(), ended_by),
    )


ENTRY_KEYS = pa.schema(
    [
        ("key", pa.int64()),
        ("record_type", pa.string()),
        ("severity", pa.string()),
        ("list_rank", pa.int64()),
        ("list_code", pa.string()),
        ("duration_months", pa.int64()),
        ("extension_max", pa.int64()),
        ("max_months", pa.int64()),
    ]
)
"""One row for each type-and-grade pair a list reads: the list's rank, code, duration and
extension cap (NULL for no extension), and the pair's maximum publicity period (NULL for
none)."""


@dataclass(frozen=True)
class _EntryKeys:
    table: ir.Table
    """``ENTRY_KEYS``."""
    rules: list[list[EntryRule]]
    """For each key, the list's entry rules that read its pair."""


def _entry_keys(pack: Pack, lists: Sequence[CreditList], engine: Engine) -> _EntryKeys:
    rows: list[tuple[int, str, str, int, str, int, int | None, int | None]] = []
    rules: list[list[EntryRule]] = []
    for rank, credit_list in enumerate(lists):
        extension_max = credit_list.extension.max_months if credit_list.extension else None
        for code in sorted({rule.record_type for rule in credit_list.entry}):
            for severity, months in grades(pack, code):
                reading = [
                    rule
                    for rule in credit_list.entry
                    if rule.record_type == code
                    and (not rule.severities or severity in rule.severities)
                ]
                if reading:
                    rows.append(
                        (
                            len(rows),
                            code,
                            severity.value,
                            rank,
                            credit_list.code,
                            credit_list.duration_months,
                            extension_max,
                            months,
                        )
                    )
                    rules.append(reading)
    return _EntryKeys(engine.policy_rows("entry_keys", ENTRY_KEYS, rows), rules)


def _with_first_removal(
    lists: Sequence[CreditList],
    grounded: ir.Table,
    records: ir.Table,
    spec: FactsSpec,
    engine: Engine,
) -> ir.Table:
    """Add the first removal record (by effective day, then id) of each grounded record:
    of a type the list's removal names, the same fields, on or after it, not withdrawn."""
    removable = [(rank, item.removal) for rank, item in enumerate(lists) if item.removal]
    kinds = engine.policy_table(
        "removal_types",
        pa.table(
            {
                "removal_rank": pa.array(
                    [rank for rank, rule in removable for _ in rule.record_types], pa.int64()
                ),
                "record_type": pa.array(
                    [code for _, rule in removable for code in rule.record_types], pa.string()
                ),
            }
        ),
    )
    same = sorted({name for _, rule in removable for name in rule.same_fields})
    candidates = records.filter(records.withdrawn_on.isnull()).join(kinds, "record_type")
    removals = candidates.select(
        removal_subject=candidates.subject_id,
        removal_rank=candidates.removal_rank,
        removal_id=candidates.record_id,
        removal_on=candidates.effective_on,
        **{f"removal_{n}": field_value(candidates, spec, name) for n, name in enumerate(same)},
    )
    # The fields a list's removal must share, for the lists that name any.
    shared = [
        (
            grounded.list_rank == rank,
            ibis.and_(
                *(
                    field_value(grounded, spec, name) == removals[f"removal_{same.index(name)}"]
                    for name in rule.same_fields
                )
            ),
        )
        for rank, rule in removable
        if rule.same_fields
    ]
    pairs = grounded.join(
        removals,
        [
            grounded.subject_id == removals.removal_subject,
            grounded.list_rank == removals.removal_rank,
            grounded.record_id != removals.removal_id,
            removals.removal_on >= grounded.effective_on,
            *([ibis.cases(*shared, else_=ibis.literal(True))] if shared else []),
        ],
    )
    first = (
        pairs.mutate(
            position=ibis.row_number().over(
                group_by=[pairs.record_id, pairs.list_rank],
                order_by=[pairs.removal_on, pairs.removal_id],
            )
        )
        .filter(lambda t: t.position == 0)
        .select(
            first_of="record_id",
            first_rank="list_rank",
            removal_id="removal_id",
            removal_on="removal_on",
        )
    )
    joined: ir.Table = grounded.left_join(
        first, [grounded.record_id == first.first_of, grounded.list_rank == first.first_rank]
    ).drop("first_of", "first_rank")
    return joined

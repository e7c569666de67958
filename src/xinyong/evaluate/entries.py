"""The list entries of every subject, as one Ibis expression over the facts.

It states, in relational form, what ``xinyong.enforcement.rules.derive_entries`` does one
subject at a time: a record matching any entry rule of a list starts an entry on its
effective date; the entry runs for the list's duration plus any extension (capped), never
past the record's maximum publicity period; the first removal record of the subject (same
fields, effective on or after the grounding record, not withdrawn) ends it early, and a
withdrawal of the grounding decision ends it at once.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from xinyong.enforcement.rules import EndReason
from xinyong.evaluate.calendar import add_months, earliest
from xinyong.evaluate.conditions import field_value, max_months, record_matches
from xinyong.evaluate.facts import FactsSpec
from xinyong.policy import Pack
from xinyong.policy.lists import CreditList


def entries_plan(pack: Pack, records: ir.Table, spec: FactsSpec) -> ir.Table | None:
    """Every entry of every subject; ``None`` when the pack has no lists.

    ``list_rank`` (the list's place in the pack) and ``record_id`` order a subject's entries
    as the reference lists them.
    """
    parts = [
        _list_entries(pack, rank, credit_list, records, spec)
        for rank, credit_list in enumerate(pack.lists.values())
    ]
    if not parts:
        return None
    result: ir.Table = parts[0] if len(parts) == 1 else ibis.union(*parts)
    return result


def _list_entries(
    pack: Pack, rank: int, credit_list: CreditList, records: ir.Table, spec: FactsSpec
) -> ir.Table:
    matched = records.filter(
        ibis.or_(
            *(
                record_matches(
                    records,
                    spec,
                    record_type=rule.record_type,
                    severities=rule.severities,
                    min_amount=rule.min_amount,
                    fields=rule.fields,
                )
                for rule in credit_list.entry
            )
        )
    )
    months: ir.IntegerValue = ibis.literal(credit_list.duration_months, type="int64")
    if credit_list.extension is not None:
        added = matched[spec.integer(credit_list.extension.field)]
        months = months + ibis.ifelse(
            added.notnull() & (added > 0),
            ibis.least(added, credit_list.extension.max_months),
            0,
        )
    period_end = add_months(matched.effective_on, months)
    cap_months = max_months(pack, matched, [rule.record_type for rule in credit_list.entry])
    period_end = earliest(period_end, add_months(matched.decided_on, cap_months))
    grounded = matched.mutate(period_ends_on=period_end).filter(
        lambda t: t.period_ends_on > t.effective_on
    )
    if credit_list.removal is not None:
        grounded = _with_first_removal(credit_list, grounded, records, spec)
    else:
        grounded = grounded.mutate(removal_id=ibis.null("int64"), removal_on=ibis.null("date"))
    removed = grounded.removal_on.notnull() & (grounded.removal_on < grounded.period_ends_on)
    ended = ibis.ifelse(removed, grounded.removal_on, grounded.period_ends_on)
    reason = ibis.ifelse(removed, EndReason.REMOVED.value, EndReason.PERIOD.value)
    ended_by = ibis.ifelse(removed, grounded.removal_id, ibis.null("int64"))
    # A revoked decision ends every consequence at once; one revoked before it took effect
    # never held.
    withdrawn = grounded.withdrawn_on.notnull() & (grounded.withdrawn_on < ended)
    return grounded.select(
        subject_id=grounded.subject_id,
        list_code=ibis.literal(credit_list.code, type="string"),
        list_rank=ibis.literal(rank, type="int64"),
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
        ended_by_record_id=ibis.ifelse(withdrawn, ibis.null("int64"), ended_by),
    )


def _with_first_removal(
    credit_list: CreditList, grounded: ir.Table, records: ir.Table, spec: FactsSpec
) -> ir.Table:
    """Add the first removal record (by effective day, then id) of each grounded record."""
    rule = credit_list.removal
    assert rule is not None
    removals = records.filter(
        records.record_type.isin(list(rule.record_types)) & records.withdrawn_on.isnull()
    ).select(
        removal_subject=records.subject_id,
        removal_id=records.record_id,
        removal_on=records.effective_on,
        **{
            f"removal_{n}": field_value(records, spec, name)
            for n, name in enumerate(rule.same_fields)
        },
    )
    same = [
        field_value(grounded, spec, name) == removals[f"removal_{n}"]
        for n, name in enumerate(rule.same_fields)
    ]
    pairs = grounded.join(
        removals,
        [
            grounded.subject_id == removals.removal_subject,
            grounded.record_id != removals.removal_id,
            removals.removal_on >= grounded.effective_on,
            *same,
        ],
    )
    first = (
        pairs.mutate(
            position=ibis.row_number().over(
                group_by=pairs.record_id, order_by=[pairs.removal_on, pairs.removal_id]
            )
        )
        .filter(lambda t: t.position == 0)
        .select(first_of="record_id", removal_id="removal_id", removal_on="removal_on")
    )
    joined: ir.Table = grounded.left_join(first, grounded.record_id == first.first_of).drop(
        "first_of"
    )
    return joined

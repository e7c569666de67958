"""The shared core of the score plans: their inputs, the contributions' columns and order,
and which records a scheme counts (``xinyong.scoring.windows.counts`` in relational form)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import ibis
import ibis.expr.types as ir

from xinyong.evaluate.engines import Engine
from xinyong.evaluate.facts import FactsSpec
from xinyong.policy import Domain
from xinyong.policy.schemes import SchemeBase
from xinyong.records.facts import REPAIRED, WITHDRAWN

CONTRIBUTION_ORDER = ("subject_id", "section", "ordinal", "window_start", "record_id")
CONTRIBUTION_SCHEMA = ibis.schema(
    {
        "subject_id": "int64",
        "record_id": "int64",
        "rule": "string",
        "points": "int64",
        "window_start": "date",
        "window_end": "date",
        "section": "int64",
        "ordinal": "int64",
    }
)
"""The contributions' columns and types (whatever an engine makes of a materialised table's
literals). ``CONTRIBUTION_ORDER`` orders a subject's contributions as the reference lists
them: points (``section`` 0, no ``ordinal``) by effective date and record, then each
condition's evidence (``section`` 1 and on) by record or list entry (``ordinal``). The points,
by far the most rows, carry no copy of another column."""


@dataclass(frozen=True)
class Inputs:
    """The tables a scheme is scored from, the day it is scored on, and the engine that runs
    the plan: it takes the small tables the plan builds from policy (``Engine.table``), shares
    the records that count among the parts of the query that read them (``Engine.share``) and
    computes once the points of a scheme with overrides, whose evidence depends on them
    (``Engine.materialise``)."""

    records: ir.Table
    subjects: ir.Table
    entries: ir.Table
    spec: FactsSpec
    day: date
    engine: Engine


@dataclass(frozen=True)
class ScorePlan:
    """The contributions of every subject the scheme rates, and their scores from them.

    The caller keeps the contributions (as an engine's table, or written out and read back)
    and asks for the scores of what it kept: a points score is its base plus the sum of its
    contributions as kept, so it never disagrees with its explanation, and the records are
    read once for both.
    """

    contributions: ir.Table
    scores_of: Callable[[ir.Table], ir.Table]
    """The scores, from the kept rows of ``contributions``."""


def rated_kinds(scheme: SchemeBase) -> list[str]:
    return [kind.value for kind in scheme.subject_kinds]


def rated_subjects(scheme: SchemeBase, inputs: Inputs) -> ir.Table:
    """``subject_id`` of every subject of a kind the scheme rates."""
    return inputs.subjects.filter(inputs.subjects.kind.isin(rated_kinds(scheme))).select(
        "subject_id"
    )


def null_int() -> ir.IntegerValue:
    value: ir.IntegerValue = ibis.null("int64")
    return value


def counts(scheme: SchemeBase, records: ir.Table) -> ir.BooleanValue:
    counted: ir.BooleanValue = records.status != WITHDRAWN
    if scheme.domain is Domain.PUBLIC:
        counted &= records.status != REPAIRED
    return counted

"""A plan's SQL is kept for the process: found again only for the same plan, never for another
pack or another day, and never holding the facts of the run that compiled it."""

from __future__ import annotations

import gc
import sys
import types
import weakref
from datetime import date

from xinyong.evaluate.compiled import COUNTS
from xinyong.evaluate.engines import get_engine
from xinyong.policy import Pack
from xinyong.scoring import score

from .strategies import Stored, kind_of, subject_facts
from .test_equivalence import (
    EVERY_KIND_DAYS,
    EVERY_KIND_RECORDS,
    SUBJECTS,
    _every_kind,
    check,
    reference_entries,
)


def _graded(pack: Pack, stored: list[Stored], day: date) -> dict[tuple[str, int], object]:
    """The reference's value and grade of every scheme for every subject it rates."""
    entries = reference_entries(pack, stored)
    return {
        (scheme.code, subject_id): (found.value, found.grade)
        for scheme in pack.schemes.values()
        for subject_id in range(1, SUBJECTS + 1)
        if kind_of(subject_id) in scheme.subject_kinds
        for found in [score(scheme, subject_facts(subject_id, stored, entries[subject_id]), day)]
    }


def _run(pack: Pack, stored: list[Stored], day: date) -> None:
    """One evaluation on a new engine, its tables named as every run names them."""
    with get_engine("duckdb") as engine:
        check(engine, pack, stored, day, names="run")


def test_a_kept_plan_serves_only_its_own_pack_and_day_and_never_its_facts() -> None:
    """Runs one after the other in one process, each on a new engine and held to the
    reference: a pack that differs by one threshold, and another day, get plans of their own;
    the first pack and day again, over other facts, compiles nothing and answers from them."""
    day, later = EVERY_KIND_DAYS[1], EVERY_KIND_DAYS[2]
    first, second = _every_kind(), _every_kind(override_min_value=201)
    fewer = [item for item in EVERY_KIND_RECORDS if item.subject_id != 3]
    answers = [
        _graded(first, EVERY_KIND_RECORDS, day),
        _graded(second, EVERY_KIND_RECORDS, day),
        _graded(first, EVERY_KIND_RECORDS, later),
        _graded(first, fewer, day),
    ]
    assert all(answers[0] != other for other in answers[1:])
    _run(first, EVERY_KIND_RECORDS, day)
    _run(second, EVERY_KIND_RECORDS, day)
    _run(first, EVERY_KIND_RECORDS, later)
    compiled = COUNTS.compiled
    _run(first, fewer, day)
    assert COUNTS.compiled == compiled


def test_a_closed_engine_is_held_by_no_kept_plan() -> None:
    """Once a run's engine is closed and its plans dropped, nothing the process keeps of them
    (the compiled SQL's keys, the plans' nodes detached from their tables) holds its
    connection, nor so the facts it was handed."""
    connection = _closed_after_a_run()
    gc.collect()
    held = connection()
    assert held is None, f"the closed engine's connection is held by {_holders(held)}"


def _closed_after_a_run() -> weakref.ref[object]:
    """The connection of an engine that ran every kind of plan and was closed, weakly.

    Made in a frame of its own, gone once it returns, so that only what the process keeps can
    hold the engine: on Python 3.11 a tool that reads a running frame's locals (SlipCover does,
    to put back the code it took its probes out of) leaves the frame a copy of them, which
    ``del`` does not clear and which lasts as long as the frame."""
    with get_engine("duckdb") as engine:
        check(engine, _every_kind(), EVERY_KIND_RECORDS, EVERY_KIND_DAYS[1], names="held")
        return weakref.ref(engine.backend)


def _holders(target: object) -> list[str]:
    """What refers to ``target``, and what refers to each of those: for a failure to name."""
    frame = sys._getframe()

    def named(holder: object) -> str:
        if isinstance(holder, types.FrameType):
            return f"the frame of {holder.f_code.co_qualname} ({holder.f_code.co_filename})"
        return type(holder).__qualname__

    return [
        f"{named(holder)} <- {[named(outer) for outer in gc.get_referrers(holder)][:5]}"
        for holder in gc.get_referrers(target)
        if holder is not frame
    ]

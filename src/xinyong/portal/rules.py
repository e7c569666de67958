"""What /rules publishes, read from the packs alone: each list with the measures it triggers
(its own and those of the memoranda naming it), who implements each and on which basis; the
subject's procedures and their working-day limits; and every scoring scheme's rules.

Nothing here is written per list or per rule: a new list, measure or scheme in a pack shows
up on the page as it is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from xinyong.policy import Pack
from xinyong.policy.catalogue import Disclosure, RecordType
from xinyong.policy.lists import AppliedMeasure, CreditList
from xinyong.policy.measures import Measure
from xinyong.policy.memoranda import Memorandum
from xinyong.policy.rights import RightsProcedure
from xinyong.policy.schemes import PointsScheme, ScorecardScheme, TiersScheme


@dataclass(frozen=True)
class TriggeredMeasure:
    """A measure a list's entries bring, and what applies it: the list's own basis or a
    memorandum."""

    applied: AppliedMeasure
    measure: Measure
    memorandum: Memorandum | None


@dataclass(frozen=True)
class PublishedList:
    item: CreditList
    measures: tuple[TriggeredMeasure, ...]


@dataclass(frozen=True)
class PublishedScheme:
    """A scheme and the pack it belongs to (its record types are that pack's)."""

    scheme: PointsScheme | TiersScheme | ScorecardScheme
    pack: Pack


@dataclass(frozen=True)
class Rules:
    pack: Pack
    lists: tuple[PublishedList, ...]
    procedures: tuple[RightsProcedure, ...]
    record_types: tuple[RecordType, ...]
    schemes: tuple[PublishedScheme, ...]


def _triggered(pack: Pack, credit_list: CreditList) -> Iterator[TriggeredMeasure]:
    for applied in credit_list.measures:
        yield TriggeredMeasure(applied, pack.measures[applied.measure], None)
    for memorandum in pack.memoranda.values():
        if credit_list.code in memorandum.triggers:
            for applied in memorandum.measures:
                yield TriggeredMeasure(applied, pack.measures[applied.measure], memorandum)


def published_rules(pack: Pack, scheme_packs: Sequence[Pack]) -> Rules:
    """The rules of ``pack`` and the schemes of ``scheme_packs`` (each scheme once, by code; a
    later pack's scheme replaces an earlier one's, as evaluation reads them)."""
    schemes: dict[str, PublishedScheme] = {}
    for scheme_pack in (pack, *scheme_packs):
        for code, scheme in scheme_pack.schemes.items():
            schemes[code] = PublishedScheme(scheme, scheme_pack)
    return Rules(
        pack=pack,
        lists=tuple(
            PublishedList(item, tuple(_triggered(pack, item))) for item in pack.lists.values()
        ),
        procedures=tuple(pack.rights.values()),
        record_types=tuple(
            item for item in pack.record_types.values() if item.disclosure == Disclosure.PUBLIC
        ),
        schemes=tuple(schemes[code] for code in sorted(schemes)),
    )

"""Grants: what one subject's index row holds, derived from entries and representations.

A grant says: from ``valid_from`` up to ``valid_to`` (exclusive) the subject is bound by the
measures of ``bundle``, because of entry ``entry_id``, its own or (``via``) that of an
organisation it represents or represented. Grants carry their own time span, so the end of a
period or of a representation needs no refresh: a check on a later day simply finds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from xinyong.enforcement.bundles import SELF, Bundle
from xinyong.enforcement.decisions import Grant
from xinyong.enforcement.rules import Entry, add_months
from xinyong.policy.lists import Extension


@dataclass(frozen=True, slots=True)
class Representation:
    """The subject represented ``organisation`` from ``started_on`` to ``ended_on`` (exclusive)."""

    organisation: str
    started_on: date
    ended_on: date | None
    entries: Sequence[tuple[int, Entry]]
    """The organisation's entries, with their stored ids."""


def bundles_by_list(bundles: Mapping[str, Bundle]) -> dict[str, list[Bundle]]:
    by_list: dict[str, list[Bundle]] = {}
    for bundle in bundles.values():
        by_list.setdefault(bundle.list_code, []).append(bundle)
    return by_list


def subject_grants(
    own: Iterable[tuple[int, Entry]],
    representations: Iterable[Representation],
    by_list: Mapping[str, Sequence[Bundle]],
) -> list[Grant]:
    """Every grant of one subject, in a stable order."""
    grants: list[Grant] = []
    for entry_id, entry in own:
        for bundle in by_list.get(entry.list_code, ()):
            if bundle.mode == SELF:
                _add(grants, bundle, entry_id, entry, entry.started_on, None, None)
    for held in representations:
        for entry_id, entry in held.entries:
            for bundle in by_list.get(entry.list_code, ()):
                if bundle.mode == Extension.WHILE_REPRESENTING:
                    start = max(entry.started_on, held.started_on)
                    _add(grants, bundle, entry_id, entry, start, held.ended_on, held.organisation)
                elif bundle.mode == Extension.AT_LISTING and (
                    held.started_on <= entry.started_on
                    and (held.ended_on is None or entry.started_on < held.ended_on)
                ):
                    _add(grants, bundle, entry_id, entry, entry.started_on, None, held.organisation)
    grants.sort(key=lambda grant: (grant.valid_from, grant.bundle, grant.entry_id))
    return grants


def _add(
    grants: list[Grant],
    bundle: Bundle,
    entry_id: int,
    entry: Entry,
    start: date,
    stop: date | None,
    via: str | None,
) -> None:
    end = entry.ended_on
    if bundle.months is not None:
        end = min(end, add_months(entry.started_on, bundle.months))
    if stop is not None:
        end = min(end, stop)
    if start < end:
        grants.append(
            Grant(
                bundle.key,
                start,
                end,
                entry_id,
                entry.list_code,
                entry.started_on,
                entry.ended_on,
                via,
            )
        )

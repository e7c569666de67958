"""Rules that span items: references from record types to authorities and to other types."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TypeVar

from xinyong.policy.actions import Action
from xinyong.policy.authorities import Authority
from xinyong.policy.catalogue import JurisdictionRule, Polarity, RecordType
from xinyong.policy.errors import Location
from xinyong.policy.joint_references import joint_problems
from xinyong.policy.lists import CreditList
from xinyong.policy.measures import Measure
from xinyong.policy.memoranda import Memorandum
from xinyong.policy.models import CodedModel
from xinyong.policy.notices import Announcement, announcement_problems
from xinyong.policy.profiles import Profile, profile_problems
from xinyong.policy.rights import RightsProcedure, rights_problems
from xinyong.policy.scheme_references import scheme_problems
from xinyong.policy.schemes import SchemeBase

PackItems = Mapping[str, Mapping[str, CodedModel]]
"""Items of a pack by concept key (``record_types``, ``authorities``), then by code."""

_Item = TypeVar("_Item", bound=CodedModel)


@dataclass(frozen=True)
class ReferenceProblem:
    """A broken reference: in item ``code`` of ``concept``, at ``location`` inside that item."""

    concept: str
    code: str
    location: Location
    message: str


def matching_authorities(pattern: str, codes: Iterable[str]) -> list[str]:
    """Codes matched by a shell-style pattern (``*``, ``?``, ``[...]``); case matters."""
    return [code for code in codes if fnmatchcase(code, pattern)]


def submission_pairs(
    record_types: Mapping[str, RecordType], authorities: Mapping[str, Authority]
) -> frozenset[tuple[str, str]]:
    """Every (authority code, record type code) allowed, with patterns expanded once."""
    return frozenset(
        (authority, record_type.code)
        for record_type in record_types.values()
        for pattern in record_type.authorities
        for authority in matching_authorities(pattern, authorities)
    )


def reference_problems(
    items: PackItems, declared: Mapping[str, Collection[str]] | None = None
) -> list[ReferenceProblem]:
    """Broken references among the valid items of a pack (concept key -> code -> item).

    ``declared`` adds, per concept, the codes of items that exist in the files but failed
    their own validation, so that one broken item is reported once, not again by every
    item that names it.
    """
    declared = declared or {}
    record_types = _of_kind(items.get("record_types", {}), RecordType)
    authorities = _of_kind(items.get("authorities", {}), Authority)
    known_authorities = sorted(set(authorities) | set(declared.get("authorities", ())))
    known_types = set(record_types) | set(declared.get("record_types", ()))
    problems = [
        ReferenceProblem("record_types", record_type.code, location, message)
        for record_type in record_types.values()
        for location, message in _record_type_problems(
            record_type, record_types, authorities, known_authorities, known_types
        )
    ]
    problems.extend(
        ReferenceProblem(*problem)
        for problem in joint_problems(
            record_types,
            known_types,
            known_authorities,
            _of_kind(items.get("actions", {}), Action),
            _of_kind(items.get("measures", {}), Measure),
            _of_kind(items.get("lists", {}), CreditList),
            _of_kind(items.get("memoranda", {}), Memorandum),
            declared,
        )
    )
    problems.extend(
        ReferenceProblem("rights", procedure.code, location, message)
        for procedure in _of_kind(items.get("rights", {}), RightsProcedure).values()
        for location, message in rights_problems(procedure, known_types)
    )
    problems.extend(
        ReferenceProblem(*problem)
        for problem in scheme_problems(
            _of_kind(items.get("schemes", {}), SchemeBase),
            record_types,
            known_types,
            _of_kind(items.get("lists", {}), CreditList),
            set(items.get("lists", {})) | set(declared.get("lists", ())),
        )
    )
    problems.extend(
        ReferenceProblem("profiles", profile.code, location, message)
        for profile in _of_kind(items.get("profiles", {}), Profile).values()
        for location, message in profile_problems(profile, record_types, known_types)
    )
    problems.extend(
        ReferenceProblem("announcements", announcement.code, location, message)
        for announcement in _of_kind(items.get("announcements", {}), Announcement).values()
        for location, message in announcement_problems(announcement, known_authorities)
    )
    return problems


def _of_kind(items: Mapping[str, CodedModel], kind: type[_Item]) -> dict[str, _Item]:
    return {code: item for code, item in items.items() if isinstance(item, kind)}


def _record_type_problems(
    record_type: RecordType,
    record_types: Mapping[str, RecordType],
    authorities: Mapping[str, Authority],
    known_authorities: Collection[str],
    known_types: Collection[str],
) -> Iterator[tuple[Location, str]]:
    registering_only = JurisdictionRule.REGISTRATION_AUTHORITY in (
        record_type.jurisdiction_rules.values()
    )
    for index, pattern in enumerate(record_type.authorities):
        matched = matching_authorities(pattern, known_authorities)
        if not matched:
            yield ("authorities", index), f"{pattern!r} matches no authority of the pack"
        if registering_only:
            for code in matched:
                if code in authorities and not authorities[code].registration_authority:
                    yield (
                        ("authorities", index),
                        f"{code} is not a registration authority, so it cannot submit "
                        f"{record_type.code}: its jurisdiction is registration_authority",
                    )
    for index, target_code in enumerate(record_type.ends):
        if target_code not in known_types:
            yield ("ends", index), f"unknown record type {target_code!r}"
            continue
        target = record_types.get(target_code)
        if target is None:
            continue
        if target.polarity is not Polarity.NEGATIVE:
            yield ("ends", index), f"{target_code} is not negative; only negative records end"
        if not set(target.subject_kinds) & set(record_type.subject_kinds):
            yield ("ends", index), f"{target_code} concerns other kinds of subject"

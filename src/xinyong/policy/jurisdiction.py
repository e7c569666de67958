"""Authority is jurisdiction: which authority may submit which record about which subject.

The catalogue says which authorities may submit a record type (``authorities``) and about
which subjects (``jurisdiction``). Both are resolved here once per pack into one check per
(authority, record type) pair and kind of subject, so that ingest decides a row with a dict
look-up and a string comparison.

An organisation's registering region is read from its USCC (positions 3-8), never from the
store: the code is fixed for the organisation's life when it is first registered, every node
reads the same answer from the row alone, and whoever submits first cannot capture a subject
by registering it wrongly, since that first registration is itself checked against the code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from xinyong.policy.authorities import REGISTERING_KINDS, Authority
from xinyong.policy.catalogue import Category, JurisdictionRule, RecordType


class _Check:
    """One (authority, record type, kind of subject): why a subject is out of reach, or None."""

    __slots__ = ()

    def refusal(self, subject_id: str) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class _WithinArea(_Check):
    head: str  # "market.110105 may not submit admin.penalty about"
    area: str  # GB/T 2260 prefix the authority covers
    covers: str  # the area in words, for the reason

    def refusal(self, subject_id: str) -> str | None:
        if subject_id.startswith(self.area, 2):
            return None
        return (
            f"{self.head} {subject_id}: it is registered in {subject_id[2:8]}, outside the "
            f"area {self.covers}"
        )


@dataclass(frozen=True, slots=True)
class _RegisteredBy(_Check):
    head: str  # "market.110105 may not change the registration of"
    characters: frozenset[str]  # USCC registration-department codes the authority's kind holds
    region: str

    def refusal(self, subject_id: str) -> str | None:
        if subject_id[:1] in self.characters and subject_id.startswith(self.region, 2):
            return None
        kind = REGISTERING_KINDS.get(subject_id[:1])
        department = kind.label if kind else f"another department ({subject_id[:1]})"
        return f"{self.head} {subject_id}: it is registered by {department} of {subject_id[2:8]}"


_ANYWHERE = _Check()


class Jurisdiction:
    """Every (authority, record type) pair the catalogue allows, with its rule per subject kind."""

    def __init__(
        self,
        record_types: Mapping[str, RecordType],
        authorities: Mapping[str, Authority],
        pairs: Iterable[tuple[str, str]],
    ) -> None:
        self._reach: dict[tuple[str, str], dict[str, _Check]] = {}
        for authority_code, type_code in pairs:
            authority, record_type = authorities[authority_code], record_types[type_code]
            self._reach[(authority_code, type_code)] = {
                str(kind): _check(rule, authority, record_type)
                for kind, rule in record_type.jurisdiction_rules.items()
            }

    def refusal(
        self, authority: str, record_type: str, subject_kind: str, subject_id: str
    ) -> str | None:
        """Why ``authority`` may not submit a ``record_type`` record about the subject (a
        ``person`` or an ``organisation`` with its normalised identifier); None when it may."""
        reach = self._reach.get((authority, record_type))
        if reach is None:
            return f"authority '{authority}' may not submit '{record_type}'"
        check = reach.get(subject_kind)
        if check is None:
            return f"'{record_type}' records do not concern a {subject_kind}"
        return check.refusal(subject_id)


def _check(rule: JurisdictionRule, authority: Authority, record_type: RecordType) -> _Check:
    if rule is JurisdictionRule.ANYWHERE or (
        rule is JurisdictionRule.SUBJECT_REGION and not authority.area
    ):
        return _ANYWHERE
    if rule is JurisdictionRule.SUBJECT_REGION:
        head = f"{authority.code} may not submit {record_type.code} about"
        covers = f"{authority.area:x<6} that {authority.code} covers"
        return _WithinArea(head, authority.area, covers)
    characters = frozenset(
        character
        for character, kind in REGISTERING_KINDS.items()
        if kind is authority.kind and authority.registration_authority
    )
    return _RegisteredBy(_registration_head(authority, record_type), characters, authority.region)


def _registration_head(authority: Authority, record_type: RecordType) -> str:
    if record_type.confirms_subject:
        return f"{authority.code} may not register"
    if record_type.category is Category.REGISTRATION:
        return f"{authority.code} may not change the registration of"
    return f"{authority.code} may not submit {record_type.code} about"

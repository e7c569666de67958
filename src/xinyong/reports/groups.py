"""The groups a subject falls in, decoded from its own identifier only.

A resident identity number gives the region, the birth date (hence the age band) and the sex;
a USCC gives the region and the organisation type (registration authority and entity type).
Nothing else about a subject is used to group it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from xinyong.identifiers import IdentifierKind, parse, uscc

UNKNOWN = "unknown"
PERSON = "person"

AGE_BANDS: tuple[tuple[int, str], ...] = (
    (25, "<25"),
    (35, "25-34"),
    (45, "35-44"),
    (55, "45-54"),
    (65, "55-64"),
)
OLDEST_BAND = "65+"

DIMENSIONS = ("region", "subject_type", "age_band", "sex", "org_type")
"""Every way of grouping subjects; ``age_band`` and ``sex`` are for persons only,
``org_type`` for organisations only (``None`` for the others)."""


@dataclass(frozen=True, slots=True)
class Label:
    """A group's code, with Chinese and English names where a standard table has them."""

    code: str
    zh: str | None = None
    en: str | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """The groups of one subject, by dimension (``None``: the dimension does not apply)."""

    region: str
    subject_type: str
    age_band: str | None
    sex: str | None
    org_type: str | None

    def group(self, dimension: str) -> str | None:
        value: str | None = getattr(self, dimension)
        return value


def ordered(dimension: str, groups: Iterable[str]) -> list[str]:
    """Groups in reading order: age bands youngest first, anything else by code."""
    if dimension != "age_band":
        return sorted(groups)
    rank = {
        name: index for index, name in enumerate((*(band for _, band in AGE_BANDS), OLDEST_BAND))
    }
    return sorted(groups, key=lambda group: (rank.get(group, len(rank)), group))


def age_band(birth_date: date, on: date) -> str:
    """The age band of someone born on ``birth_date``, on the day ``on``."""
    age = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    return next((label for limit, label in AGE_BANDS if age < limit), OLDEST_BAND)


def profile(identifier: str, on: date) -> Profile:
    """The groups of the subject keyed by ``identifier`` (a resident ID or a USCC)."""
    parsed = parse(identifier)
    region = parsed.region_code or UNKNOWN
    if parsed.kind is IdentifierKind.RESIDENT_ID:
        return Profile(
            region,
            PERSON,
            age_band(parsed.birth_date, on) if parsed.birth_date is not None else UNKNOWN,
            parsed.sex or UNKNOWN,
            None,
        )
    authority, entity = parsed.registration_authority, parsed.entity_type
    org_type = (authority.code if authority else "?") + (entity.code if entity else "?")
    return Profile(region, f"organisation:{org_type}", None, None, org_type)


def org_type_label(code: str) -> Label:
    """A USCC organisation type (``91``: market regulation, enterprise) with its names."""
    authority = uscc.REGISTRATION_AUTHORITIES.get(code[:1])
    if authority is None:
        return Label(code)
    entity = uscc.ENTITY_TYPES.get(authority.code, {}).get(code[1:2])
    if entity is None:
        return Label(code, authority.name_zh, authority.name_en)
    return Label(
        code, f"{authority.name_zh}·{entity.name_zh}", f"{authority.name_en}: {entity.name_en}"
    )


def label(dimension: str, code: str) -> Label:
    """The label of group ``code`` of ``dimension``."""
    if dimension == "org_type":
        return org_type_label(code)
    if dimension == "subject_type" and code.startswith("organisation:"):
        kind = org_type_label(code.removeprefix("organisation:"))
        return Label(code, kind.zh, kind.en and f"organisation ({kind.en})")
    if dimension == "sex":
        return Label(code, {"male": "男", "female": "女"}.get(code), code)
    if dimension == "subject_type" and code == PERSON:
        return Label(code, "自然人", "person")
    return Label(code)

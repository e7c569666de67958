"""Authorities: the bodies that provide records or enforce measures (``authorities.yaml``)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, ValidationInfo, field_validator

from xinyong.policy.models import Bilingual, CodedModel, ItemDocument

AuthorityCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*\.[a-z0-9][a-z0-9_]*$")]
"""``kind.local``: the region code for government bodies (``court.110105``), a short name
for institutions (``bank.icbc_beijing``)."""

NATIONAL_REGION = "100000"
"""Region code used for bodies whose remit is the whole country."""


class AuthorityKind(StrEnum):
    """What sort of body an authority is."""

    COURT = "court"
    TAX = "tax"
    MARKET_REGULATION = "market_regulation"
    CUSTOMS = "customs"
    ENVIRONMENT = "environment"
    HRSS = "hrss"
    TRANSPORT = "transport"
    HEALTH = "health"
    EDUCATION = "education"
    CIVIL_AFFAIRS = "civil_affairs"
    FINANCE = "finance"
    INTELLECTUAL_PROPERTY = "intellectual_property"
    PUBLIC_SECURITY = "public_security"
    HOUSING = "housing"
    EMERGENCY = "emergency"
    AGRICULTURE = "agriculture"
    DRUG_ADMINISTRATION = "drug_administration"
    RAILWAY = "railway"
    BANK = "bank"
    CREDIT_SERVICE = "credit_service"
    YOUTH_LEAGUE = "youth_league"
    CREDIT_CENTRE = "credit_centre"
    INSTITUTIONAL_STAFFING = "institutional_staffing"
    FOREIGN_AFFAIRS = "foreign_affairs"
    JUDICIAL_ADMINISTRATION = "judicial_administration"
    CULTURE = "culture"
    TOURISM = "tourism"
    RELIGIOUS_AFFAIRS = "religious_affairs"
    TRADE_UNION = "trade_union"
    MILITARY_STAFFING = "military_staffing"

    @property
    def label(self) -> str:
        """The kind in words: ``civil affairs`` for ``civil_affairs``."""
        return self.value.replace("_", " ")


REGISTERING_KINDS: Mapping[str, AuthorityKind] = {
    "1": AuthorityKind.INSTITUTIONAL_STAFFING,
    "2": AuthorityKind.FOREIGN_AFFAIRS,
    "3": AuthorityKind.JUDICIAL_ADMINISTRATION,
    "4": AuthorityKind.CULTURE,
    "5": AuthorityKind.CIVIL_AFFAIRS,
    "6": AuthorityKind.TOURISM,
    "7": AuthorityKind.RELIGIOUS_AFFAIRS,
    "8": AuthorityKind.TRADE_UNION,
    "9": AuthorityKind.MARKET_REGULATION,
    "A": AuthorityKind.MILITARY_STAFFING,
    "N": AuthorityKind.AGRICULTURE,
}
"""The kind of body that registers an organisation, by the first character of its USCC (the
registration-department code of GB 32100 table 2). ``Y`` ("other") names no one department,
so no authority is the registration authority of a ``Y`` code."""


class AuthorityLevel(StrEnum):
    """Administrative level; ``institution`` for banks, firms and other non-government bodies."""

    NATIONAL = "national"
    PROVINCIAL = "provincial"
    MUNICIPAL = "municipal"
    DISTRICT = "district"
    INSTITUTION = "institution"


class Authority(CodedModel):
    """A body allowed to provide records, named by a stable code."""

    code: AuthorityCode
    """Stable identifier, e.g. ``court.110105`` or ``bank.icbc_beijing``."""
    name: Bilingual
    """Official name in Chinese and English."""
    kind: AuthorityKind
    """What sort of body it is."""
    level: AuthorityLevel
    """Administrative level."""
    region: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{5}$")]
    """6-digit administrative division code (GB/T 2260) of its seat; 100000 for national bodies."""
    registration_authority: bool = False
    """It registers subjects (market regulation, civil affairs): a subject it reports with a
    wrong check character is kept as suspect rather than refused, since real issued codes
    with bad check characters exist. It registers the organisations whose USCC starts with
    the character of its kind (``REGISTERING_KINDS``) and carries its region."""

    @field_validator("region")
    @classmethod
    def _region_fits_level(cls, value: str, info: ValidationInfo) -> str:
        if value != NATIONAL_REGION and value[:2] < "11":
            raise ValueError("not a GB/T 2260 division: provinces are numbered from 11")
        # GB/T 2260: PP0000 a province (or province-level city), PPCC00 a city, PPCCDD a district.
        level = info.data.get("level")
        wanted = {
            AuthorityLevel.NATIONAL: (value == NATIONAL_REGION, NATIONAL_REGION),
            AuthorityLevel.PROVINCIAL: (value.endswith("0000"), "a code ending in 0000"),
            AuthorityLevel.MUNICIPAL: (value.endswith("00"), "a code ending in 00"),
            AuthorityLevel.DISTRICT: (not value.endswith("00"), "a district code"),
        }
        if level in wanted and not wanted[level][0]:
            raise ValueError(f"a {level} authority has region {wanted[level][1]}, not {value}")
        return value

    @field_validator("registration_authority")
    @classmethod
    def _registers_by_kind(cls, value: bool, info: ValidationInfo) -> bool:
        kind = info.data.get("kind")
        if value and kind is not None and kind not in REGISTERING_KINDS.values():
            registering = ", ".join(sorted(REGISTERING_KINDS.values()))
            raise ValueError(
                f"a {kind} authority registers no organisations: GB 32100 gives the "
                f"registration of organisations to {registering}"
            )
        return value

    @property
    def area(self) -> str:
        """The GB/T 2260 prefix of the divisions it covers: ``""`` for the whole country,
        ``"11"`` for Beijing (``110000``), ``"3201"`` for Nanjing (``320100``), ``"110105"``
        for Chaoyang district."""
        if self.level is AuthorityLevel.NATIONAL or self.region == NATIONAL_REGION:
            return ""
        area = self.region
        while area.endswith("00"):
            area = area[:-2]
        return area


class AuthoritiesDocument(ItemDocument):
    """The file ``authorities.yaml``: a list of authorities."""

    authorities: tuple[Authority, ...] = Field(min_length=1)
    """The authorities of this pack."""

    def items(self) -> tuple[Authority, ...]:
        return self.authorities

"""The catalogue: record types, the items authorities may submit (``catalogue/*.yaml``).

Field order in ``RecordType`` matters: its validators read fields declared before them
(``info.data``), so each rule is reported at the field it concerns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    Field,
    JsonValue,
    NonNegativeInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from xinyong.policy.fields_schema import (
    NO_FIELDS,
    FieldsValidator,
    compile_fields_schema,
    fields_schema_problems,
)
from xinyong.policy.models import (
    Bilingual,
    CodedModel,
    ItemDocument,
    LegalBasis,
    NonEmpty,
    PolicyModel,
)

RecordTypeCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")]
AuthorityPattern = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_.*?\[\]!-]+$")]
"""An authority code, or a shell-style pattern over codes (``court.*``, ``market.1101??``)."""


class Category(StrEnum):
    """The 13 categories of the 2024 National Basic Catalogue of Public Credit Information."""

    REGISTRATION = "registration"
    JUDICIAL = "judicial"
    ADMINISTRATIVE = "administrative"
    PROFESSIONAL = "professional"
    ABNORMAL_OPERATIONS = "abnormal_operations"
    INTELLECTUAL_PROPERTY = "intellectual_property"
    SERIOUS_UNTRUSTWORTHY = "serious_untrustworthy"
    CONTRACT_PERFORMANCE = "contract_performance"
    CREDIT_COMMITMENT = "credit_commitment"
    CREDIT_EVALUATION = "credit_evaluation"
    LAW_COMPLIANCE = "law_compliance"
    HONOURS = "honours"
    VOLUNTARY = "voluntary"

    @property
    def label(self) -> Bilingual:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS: Mapping[Category, Bilingual] = {
    Category.REGISTRATION: Bilingual(zh="登记注册基本信息", en="Basic registration information"),
    Category.JUDICIAL: Bilingual(
        zh="司法裁判及执行信息", en="Judicial rulings and enforcement information"
    ),
    Category.ADMINISTRATIVE: Bilingual(
        zh="行政管理信息", en="Administrative management information"
    ),
    Category.PROFESSIONAL: Bilingual(
        zh="职称和职业信息", en="Professional titles and occupational information"
    ),
    Category.ABNORMAL_OPERATIONS: Bilingual(
        zh="经营(活动)异常名录(状态)信息", en="Abnormal operations list (status) information"
    ),
    Category.INTELLECTUAL_PROPERTY: Bilingual(
        zh="知识产权信息", en="Intellectual property information"
    ),
    Category.SERIOUS_UNTRUSTWORTHY: Bilingual(
        zh="严重失信主体名单信息", en="Serious untrustworthiness list information"
    ),
    Category.CONTRACT_PERFORMANCE: Bilingual(
        zh="合同履行信息", en="Contract performance information"
    ),
    Category.CREDIT_COMMITMENT: Bilingual(
        zh="信用承诺及履行情况信息", en="Credit commitments and their performance"
    ),
    Category.CREDIT_EVALUATION: Bilingual(zh="信用评价结果信息", en="Credit evaluation results"),
    Category.LAW_COMPLIANCE: Bilingual(
        zh="遵守法律法规情况信息", en="Compliance with laws and regulations"
    ),
    Category.HONOURS: Bilingual(
        zh="诚实守信相关荣誉信息", en="Honours for honesty and trustworthiness"
    ),
    Category.VOLUNTARY: Bilingual(
        zh="信用主体自愿提供的信息", en="Information provided voluntarily by the subject"
    ),
}


class Polarity(StrEnum):
    """Whether a record counts against the subject, for it, or neither."""

    NEGATIVE = "negative"
    POSITIVE = "positive"
    NEUTRAL = "neutral"


class SubjectKind(StrEnum):
    """Person: keyed by the resident identity number. Organisation: keyed by the USCC."""

    PERSON = "person"
    ORGANISATION = "organisation"


class Severity(StrEnum):
    """Grade of a record: minor, general or serious for negative types; none otherwise."""

    MINOR = "minor"
    GENERAL = "general"
    SERIOUS = "serious"
    NONE = "none"


NEGATIVE_GRADES = frozenset({Severity.MINOR, Severity.GENERAL, Severity.SERIOUS})

PENALTY_PUBLICITY_MONTHS: Mapping[Severity, tuple[int, int]] = {
    Severity.MINOR: (0, 3),
    Severity.GENERAL: (3, 12),
    Severity.SERIOUS: (12, 36),
}
"""Bounds on the publicity of an administrative penalty by grade, in months from the decision
(信用修复管理办法, effective 2026-04-01): minor in principle not published and at most 3
months; general at least 3 months, at most 1 year; serious at least 1 year, at most 3 years."""


class Disclosure(StrEnum):
    """Who may read records of a type."""

    PUBLIC = "public"
    """Anyone, on the public portal, with identity numbers masked."""
    SHARED = "shared"
    """Authorities and relying parties that state a purpose; every read is logged."""
    SUBJECT_ONLY = "subject_only"
    """Only the subject (and the platform's own evaluation where a scheme uses it)."""


class Domain(StrEnum):
    """Financial record types feed only financial schemes; public ones never feed those."""

    FINANCIAL = "financial"
    PUBLIC = "public"


class JurisdictionRule(StrEnum):
    """About which subjects an authority that may submit a record type may submit it."""

    ANYWHERE = "anywhere"
    """Any subject: a court judges whoever comes before it, a bank reports its own customers."""
    SUBJECT_REGION = "subject_region"
    """Organisations registered within the authority's area (the region in positions 3-8 of
    the USCC): a district office its district, a city or province its prefix, a national body
    the whole country."""
    REGISTRATION_AUTHORITY = "registration_authority"
    """Only the office that registers the organisation: the registration-department character
    of the USCC names the authority's kind and positions 3-8 name its region."""


JURISDICTION_RULES = frozenset(rule.value for rule in JurisdictionRule)
SUBJECT_KINDS = frozenset(kind.value for kind in SubjectKind)

REPRESENTATIVE_FIELD = "legal_representative_id"
"""The field ingest reads as a change of an organisation's legal representative."""


class AmountRule(StrEnum):
    """Whether a record of this type carries an amount (yuan)."""

    REQUIRED = "required"
    OPTIONAL = "optional"
    FORBIDDEN = "forbidden"


class PublicityPeriod(PolicyModel):
    """How long a record of one grade is in effect, in months from the decision date."""

    published: bool
    """Shown on the public portal during the period (only public record types are)."""
    min_months: NonNegativeInt
    """Minimum period: repair cannot end the record earlier."""
    max_months: NonNegativeInt | None
    """Maximum period: after it the record is no longer shown and no longer grounds any
    measure or score. ``null`` means no end, for state information such as registration."""

    @model_validator(mode="after")
    def _min_not_above_max(self) -> PublicityPeriod:
        if self.max_months is not None and self.min_months > self.max_months:
            raise ValueError(
                f"min_months ({self.min_months}) is above max_months ({self.max_months})"
            )
        return self


class RecordType(CodedModel):
    """One catalogue item: what an authority may record about a subject, and on what basis."""

    code: RecordTypeCode
    """Stable identifier, ``area.item`` in lower case, e.g. ``court.defaulter_listing``."""
    name: Bilingual
    """Name in Chinese and English."""
    description: NonEmpty | None = None
    """Why the item exists and how its periods were chosen; shown with the rule."""
    category: Category
    """Catalogue category."""
    polarity: Polarity
    """Negative, positive or neutral."""
    subject_kinds: tuple[SubjectKind, ...] = Field(min_length=1)
    """Which subjects records may concern: person, organisation or both."""
    administrative_penalty: bool = False
    """The record is an administrative penalty decision: its grades follow the statutory
    publicity bounds (see ``PENALTY_PUBLICITY_MONTHS``)."""
    severities: dict[Severity, PublicityPeriod] = Field(min_length=1)
    """Grade to publicity period. Negative types use minor/general/serious; positive and
    neutral types have exactly the grade ``none``."""
    legal_basis: tuple[LegalBasis, ...] = Field(min_length=1)
    """The law that allows the record to be kept; a record type without one is refused."""
    disclosure: Disclosure
    """Who may read records of this type."""
    domain: Domain
    """Financial or public."""
    amount: AmountRule = AmountRule.FORBIDDEN
    """Whether records carry an amount."""
    fields: dict[str, JsonValue] = Field(default_factory=lambda: dict(NO_FIELDS))
    """JSON Schema for the record's ``fields`` object (a draft 2020-12 subset)."""
    authorities: tuple[AuthorityPattern, ...] = Field(min_length=1)
    """Authority codes or patterns allowed to submit records of this type."""
    jurisdiction: JurisdictionRule | dict[SubjectKind, JurisdictionRule]
    """About which subjects those authorities may submit it: one rule for every kind of
    subject, or one per kind (``{organisation: subject_region, person: anywhere}``)."""
    repairable: bool = True
    """Negative types only: whether the subject may apply for credit repair."""
    confirms_subject: bool = False
    """Registration types only: a record proves the subject exists as registered."""
    ends: tuple[RecordTypeCode, ...] = ()
    """Positive or neutral types only: negative record types a record of this type closes
    for the same subject (performance ends a listing)."""

    @field_validator("subject_kinds", "authorities", "ends")
    @classmethod
    def _no_repeats(cls, value: tuple[Any, ...]) -> tuple[Any, ...]:
        repeated = sorted({str(item) for item in value if value.count(item) > 1})
        if repeated:
            raise ValueError(f"listed more than once: {', '.join(repeated)}")
        return value

    @field_validator("administrative_penalty")
    @classmethod
    def _penalties_are_negative(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("polarity") not in (None, Polarity.NEGATIVE):
            raise ValueError("only a negative record type can be an administrative penalty")
        return value

    @field_validator("severities")
    @classmethod
    def _grades_fit_polarity(
        cls, value: dict[Severity, PublicityPeriod], info: ValidationInfo
    ) -> dict[Severity, PublicityPeriod]:
        polarity = info.data.get("polarity")
        if polarity is None:
            return value
        problems: list[str] = []
        if polarity is Polarity.NEGATIVE:
            if Severity.NONE in value:
                problems.append(
                    "a negative record type is graded minor, general and/or serious, not 'none'"
                )
            problems.extend(
                f"{grade}: max_months must be set; every negative record has an end"
                for grade, period in value.items()
                if grade is not Severity.NONE and period.max_months is None
            )
            if info.data.get("administrative_penalty"):
                problems.extend(_penalty_problems(value))
        elif set(value) != {Severity.NONE}:
            problems.append(f"a {polarity} record type has exactly one grade, 'none'")
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("disclosure")
    @classmethod
    def _only_public_types_are_published(
        cls, value: Disclosure, info: ValidationInfo
    ) -> Disclosure:
        severities: dict[Severity, PublicityPeriod] = info.data.get("severities", {})
        published = sorted(grade for grade, period in severities.items() if period.published)
        if value is not Disclosure.PUBLIC and published:
            raise ValueError(
                f"a {value} record type is never published, "
                f"but grade(s) {', '.join(published)} say published: true"
            )
        return value

    @field_validator("fields")
    @classmethod
    def _fields_is_a_supported_schema(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        problems = fields_schema_problems(value)
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("fields")
    @classmethod
    def _only_registration_names_a_representative(
        cls, value: dict[str, JsonValue], info: ValidationInfo
    ) -> dict[str, JsonValue]:
        if info.data.get("category") in (None, Category.REGISTRATION):
            return value
        if _accepts_field(value, REPRESENTATIVE_FIELD):
            raise ValueError(
                f"only registration record types may carry {REPRESENTATIVE_FIELD}: ingest "
                "takes it as a change of the organisation's legal representative, which only "
                "the office that registers the organisation may make"
            )
        return value

    @field_validator("jurisdiction", mode="before")
    @classmethod
    def _jurisdiction_is_known(cls, value: object) -> object:
        rules = ", ".join(sorted(JURISDICTION_RULES))
        if isinstance(value, str):
            if value not in JURISDICTION_RULES:
                raise ValueError(f"{value!r} is not a jurisdiction rule ({rules})")
        elif isinstance(value, dict) and value:
            for kind, rule in value.items():
                if kind not in SUBJECT_KINDS:
                    raise ValueError(f"{kind!r} is not a kind of subject (person, organisation)")
                if not (isinstance(rule, str) and rule in JURISDICTION_RULES):
                    raise ValueError(f"{kind}: {rule!r} is not a jurisdiction rule ({rules})")
        else:
            raise ValueError(
                f"a jurisdiction is one rule ({rules}) or a mapping from person and/or "
                "organisation to a rule"
            )
        return value

    @field_validator("jurisdiction")
    @classmethod
    def _jurisdiction_fits_subjects(
        cls, value: JurisdictionRule | dict[SubjectKind, JurisdictionRule], info: ValidationInfo
    ) -> JurisdictionRule | dict[SubjectKind, JurisdictionRule]:
        kinds: tuple[SubjectKind, ...] | None = info.data.get("subject_kinds")
        problems: list[str] = []
        if isinstance(value, dict) and kinds is not None:
            problems.extend(
                f"{kind}: the type concerns only {', '.join(kinds)}"
                for kind in value
                if kind not in kinds
            )
            problems.extend(f"no rule for {kind}" for kind in kinds if kind not in value)
        rules = _rules_by_kind(value, kinds or tuple(SubjectKind))
        if rules.get(SubjectKind.PERSON) is JurisdictionRule.SUBJECT_REGION:
            problems.append(
                "subject_region cannot apply to persons: the address code of a resident "
                "identity number is where the number was first issued, not where the person "
                "lives or acted (write {organisation: subject_region, person: anywhere})"
            )
        if rules.get(SubjectKind.PERSON) is JurisdictionRule.REGISTRATION_AUTHORITY:
            problems.append("registration_authority applies to organisations only")
        if info.data.get("category") is Category.REGISTRATION and any(
            rule is not JurisdictionRule.REGISTRATION_AUTHORITY for rule in rules.values()
        ):
            problems.append(
                "a registration record sets an organisation's name and legal representative, "
                "so only the office that registers it may submit one: write "
                "registration_authority"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("repairable")
    @classmethod
    def _repair_concerns_negative_types(cls, value: bool, info: ValidationInfo) -> bool:
        if not value and info.data.get("polarity") not in (None, Polarity.NEGATIVE):
            raise ValueError("only negative record types can be declared not repairable")
        return value

    @field_validator("confirms_subject")
    @classmethod
    def _registration_confirms(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("category") not in (None, Category.REGISTRATION):
            raise ValueError("only registration record types confirm a subject")
        return value

    @field_validator("ends")
    @classmethod
    def _ends_belongs_to_closing_types(
        cls, value: tuple[str, ...], info: ValidationInfo
    ) -> tuple[str, ...]:
        if value and info.data.get("polarity") is Polarity.NEGATIVE:
            raise ValueError("a negative record type cannot end other records")
        if info.data.get("code") in value:
            raise ValueError("a record type cannot end itself")
        return value

    @property
    def default_severity(self) -> Severity | None:
        """The grade of a record that names none: the type's only grade, if it has one."""
        if len(self.severities) == 1:
            return next(iter(self.severities))
        return None

    @property
    def jurisdiction_rules(self) -> dict[SubjectKind, JurisdictionRule]:
        """The jurisdiction rule for each kind of subject the type concerns."""
        return _rules_by_kind(self.jurisdiction, self.subject_kinds)

    @property
    def fields_validator(self) -> FieldsValidator:
        """Compiled validator for a record's ``fields`` (compiled once per distinct schema)."""
        return compile_fields_schema(self.fields)


def _rules_by_kind(
    value: JurisdictionRule | Mapping[SubjectKind, JurisdictionRule],
    kinds: tuple[SubjectKind, ...],
) -> dict[SubjectKind, JurisdictionRule]:
    if isinstance(value, Mapping):
        return {kind: value[kind] for kind in kinds if kind in value}
    return dict.fromkeys(kinds, value)


def _accepts_field(schema: Mapping[str, Any], name: str) -> bool:
    """Whether a top-level fields schema (``additionalProperties: false``) lets ``name`` in."""
    properties = schema.get("properties")
    if isinstance(properties, Mapping) and name in properties:
        return True
    patterns = schema.get("patternProperties")
    if not isinstance(patterns, Mapping):
        return False
    for pattern in patterns:
        try:
            if re.search(str(pattern), name):
                return True
        except re.error:
            continue  # reported by the fields schema check
    return False


def _penalty_problems(severities: Mapping[Severity, PublicityPeriod]) -> list[str]:
    problems: list[str] = []
    for grade, period in severities.items():
        if grade not in PENALTY_PUBLICITY_MONTHS or period.max_months is None:
            continue
        low, high = PENALTY_PUBLICITY_MONTHS[grade]
        if period.min_months < low or period.max_months > high:
            problems.append(
                f"{grade}: {period.min_months}-{period.max_months} months is outside "
                f"{low}-{high} months, the publicity of a {grade} administrative penalty "
                "(信用修复管理办法)"
            )
    return problems


class CatalogueDocument(ItemDocument):
    """A file ``catalogue/NAME.yaml``: a list of record types."""

    record_types: tuple[RecordType, ...] = Field(min_length=1)
    """The record types defined in this file."""

    def items(self) -> tuple[RecordType, ...]:
        return self.record_types

"""Scoring schemes (``schemes/*.yaml``): points, tiers and scorecards over a subject's own records.

A scheme reads only what its rules name: record types of the catalogue (with conditions on
grade, amount and fields) and lists of the pack, always of the subject being scored. There is
no way to name another subject, a relationship or another subject's score. Each scheme
declares its domain: a financial scheme reads only financial record types and a public one
only public types (checked against the catalogue by ``scheme_references``).

Validity windows are in months from a record's effective date; a window covers the days
``effective_on <= day < effective_on + months``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    GetJsonSchemaHandler,
    JsonValue,
    ModelWrapValidatorHandler,
    PositiveInt,
    StringConstraints,
    TypeAdapter,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from xinyong.policy.catalogue import Category, Domain, RecordTypeCode, Severity, SubjectKind
from xinyong.policy.models import (
    Bilingual,
    CodedModel,
    ItemDocument,
    LegalBasis,
    NonEmpty,
    PolicyModel,
)

SchemeCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")]
GradeCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_+-]*$")]
RuleCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]


class SchemeKind(StrEnum):
    POINTS = "points"
    TIERS = "tiers"
    SCORECARD = "scorecard"


class RecordCondition(PolicyModel):
    """Which of the subject's records a rule reads: one record type, and conditions on it."""

    record_type: RecordTypeCode
    """The record type read."""
    severities: tuple[Severity, ...] = ()
    """Grades that qualify; empty means every grade of the type."""
    min_amount: float | None = None
    """Least amount (yuan, inclusive); records without an amount then do not qualify."""
    max_amount: float | None = None
    """Greatest amount (yuan, inclusive); records without an amount then do not qualify."""
    fields: dict[str, tuple[JsonValue, ...]] = Field(default_factory=dict)
    """Field name to the values that qualify (``grade: [A]``)."""

    @model_validator(mode="after")
    def _amounts_ordered(self) -> RecordCondition:
        if (
            self.min_amount is not None
            and self.max_amount is not None
            and self.min_amount > self.max_amount
        ):
            raise ValueError(f"min_amount {self.min_amount} is above max_amount {self.max_amount}")
        return self


class Band(PolicyModel):
    """A grade and the values (inclusive) that earn it; an open end is ``null``."""

    grade: GradeCode
    """Grade code, e.g. ``AAA``."""
    name: Bilingual | None = None
    """How the grade is read out, e.g. 极好 (excellent)."""
    min: int | None = None
    """Least value of the band; ``null`` for no lower end."""
    max: int | None = None
    """Greatest value of the band; ``null`` for no upper end."""

    def holds(self, value: int) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


class SchemeBase(CodedModel):
    """What every scheme declares, whatever its kind."""

    code: SchemeCode
    """Stable identifier, e.g. ``city.points``."""
    kind: SchemeKind
    """``points``, ``tiers`` or ``scorecard``: which of the models below applies."""
    name: Bilingual
    """Name in Chinese and English."""
    description: NonEmpty
    """What the scheme rates and where its rules come from; shown with every score."""
    domain: Domain
    """Financial schemes read only financial record types; public ones only public types."""
    subject_kinds: tuple[SubjectKind, ...] = Field(min_length=1)
    """Which subjects are rated: persons, organisations or both."""
    legal_basis: tuple[LegalBasis, ...] = Field(min_length=1)
    """The law or policy document that allows the rating."""

    def record_conditions(self) -> Iterator[tuple[tuple[str | int, ...], RecordCondition]]:
        """Every record condition of the scheme, with its location inside the scheme."""
        return iter(())

    def list_references(self) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """Every list the scheme reads, with its location inside the scheme."""
        return iter(())

    def grades(self) -> tuple[str, ...]:
        """The grades the scheme gives, best first."""
        raise NotImplementedError

    def grade_name(self, grade: str) -> Bilingual | None:
        """How ``grade`` is read out, when the scheme names it."""
        return None

    def rule_name(self, rule: str) -> Bilingual | None:
        """What the rule ``rule`` of a contribution rewards or deducts, when it is named."""
        return None


def _band_problems(bands: Sequence[Band], low: int, high: int) -> list[str]:
    """Bands must cover ``low..high`` exactly once: no gap, no overlap, no repeated grade."""
    problems: list[str] = []
    grades = [band.grade for band in bands]
    repeated = sorted({grade for grade in grades if grades.count(grade) > 1})
    if repeated:
        problems.append(f"grades listed more than once: {', '.join(repeated)}")
    for band in bands:
        if band.min is not None and band.max is not None and band.min > band.max:
            problems.append(f"{band.grade}: min {band.min} is above max {band.max}")
    if problems:
        return problems
    ordered = sorted(bands, key=lambda band: low - 1 if band.min is None else band.min)
    first, last = ordered[0], ordered[-1]
    if first.min is not None and first.min > low:
        problems.append(f"no band covers {low}..{first.min - 1}")
    if last.max is not None and last.max < high:
        problems.append(f"no band covers {last.max + 1}..{high}")
    for lower, upper in pairwise(ordered):
        if lower.max is None or upper.min is None or lower.max >= upper.min:
            problems.append(f"bands {lower.grade} and {upper.grade} overlap")
        elif lower.max + 1 < upper.min:
            problems.append(
                f"no band covers {lower.max + 1}..{upper.min - 1} "
                f"(between {lower.grade} and {upper.grade})"
            )
    return problems


class PointsRule(RecordCondition):
    """Points for each qualifying record while its validity window lasts.

    A record counts under the first rule (in file order) it matches, at most once.
    """

    code: RuleCode
    """Name of the rule, shown in every contribution it makes."""
    name: Bilingual
    """What the rule rewards or deducts."""
    points: int
    """Points added (positive) or deducted (negative) per record."""
    window_months: PositiveInt
    """How long a record counts, in months from its effective date."""
    cap: PositiveInt | None = None
    """Most points the rule can add or deduct in all; earlier records count first."""

    @field_validator("points")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("a rule of 0 points changes nothing; leave it out")
        return value


class Condition(PolicyModel):
    """One fact about the subject on the day rated: its records of a kind, or a list entry.

    Exactly one of ``records`` and ``list`` is given.
    """

    records: RecordCondition | None = None
    """The subject has at least ``min_count`` qualifying records in effect."""
    window_months: PositiveInt | None = None
    """Records count for this many months from their effective date; ``null`` for as long
    as the record is in effect."""
    min_count: PositiveInt = 1
    """How many qualifying records are needed."""
    list: NonEmpty | None = None
    """The subject is on this list (an active entry on the day rated)."""

    @model_validator(mode="after")
    def _one_fact(self) -> Condition:
        if (self.records is None) == (self.list is None):
            raise ValueError("give exactly one of 'records' and 'list'")
        if self.list is not None and (self.window_months is not None or self.min_count != 1):
            raise ValueError("'window_months' and 'min_count' apply to 'records' only")
        return self


class Tier(PolicyModel):
    """A grade, given when its conditions hold (tiers are tried in order, the first wins)."""

    grade: GradeCode
    """Grade code."""
    name: Bilingual | None = None
    """How the grade is read out."""
    all: tuple[Condition, ...] = ()
    """Every one of these must hold."""
    any: tuple[Condition, ...] = ()
    """At least one of these must hold (when given)."""
    none: tuple[Condition, ...] = ()
    """None of these may hold."""
    min_value: int | None = None
    """Points schemes only: the score must be at least this."""

    @property
    def unconditional(self) -> bool:
        return not (self.all or self.any or self.none) and self.min_value is None

    def conditions(self) -> Iterator[tuple[tuple[str | int, ...], Condition]]:
        for group in ("all", "any", "none"):
            for index, condition in enumerate(getattr(self, group)):
                yield (group, index), condition


def _tier_problems(tiers: Sequence[Tier], *, final_default: bool) -> list[str]:
    problems: list[str] = []
    grades = [tier.grade for tier in tiers]
    repeated = sorted({grade for grade in grades if grades.count(grade) > 1})
    if repeated:
        problems.append(f"grades listed more than once: {', '.join(repeated)}")
    for index, tier in enumerate(tiers):
        if tier.unconditional and (not final_default or index != len(tiers) - 1):
            problems.append(f"{tier.grade}: a tier without conditions would hide those after it")
    if final_default and tiers and not tiers[-1].unconditional:
        problems.append(f"the last tier ({tiers[-1].grade}) must have no conditions: the default")
    return problems


class PointsScheme(SchemeBase):
    """A base score, points per qualifying record, caps, a clamp and bands of grades."""

    kind: Literal[SchemeKind.POINTS]
    base: int
    """Where every subject starts."""
    min: int
    """Lowest possible score (the sum is clamped to it)."""
    max: int
    """Highest possible score (the sum is clamped to it)."""
    rules: tuple[PointsRule, ...] = Field(min_length=1)
    """Additions and deductions."""
    category_caps: dict[Category, PositiveInt] = Field(default_factory=dict)
    """Most points records of one catalogue category can add or deduct in all (after the
    rules' own caps)."""
    overrides: tuple[Tier, ...] = ()
    """Grades given instead of the bands when their conditions hold (e.g. M for new
    enterprises), tried in order."""
    bands: tuple[Band, ...] = Field(min_length=1)
    """Grades by value; they cover ``min..max`` without gap or overlap."""

    @model_validator(mode="after")
    def _consistent(self) -> PointsScheme:
        problems: list[str] = []
        if self.min > self.max:
            problems.append(f"min {self.min} is above max {self.max}")
        elif not self.min <= self.base <= self.max:
            problems.append(f"base {self.base} is outside {self.min}..{self.max}")
        else:
            problems.extend(_band_problems(self.bands, self.min, self.max))
        codes = [rule.code for rule in self.rules]
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        if repeated:
            problems.append(f"rules listed more than once: {', '.join(repeated)}")
        problems.extend(_tier_problems(self.overrides, final_default=False))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def record_conditions(self) -> Iterator[tuple[tuple[str | int, ...], RecordCondition]]:
        for index, rule in enumerate(self.rules):
            yield ("rules", index), rule
        yield from _tier_records("overrides", self.overrides)

    def list_references(self) -> Iterator[tuple[tuple[str | int, ...], str]]:
        yield from _tier_lists("overrides", self.overrides)

    def grades(self) -> tuple[str, ...]:
        return (*_best_first(self.bands, self.max), *(tier.grade for tier in self.overrides))

    def grade_of(self, value: int) -> str:
        return _band_of(self.bands, value)

    def grade_name(self, grade: str) -> Bilingual | None:
        return _named(grade, (*self.bands, *self.overrides))

    def rule_name(self, rule: str) -> Bilingual | None:
        return next((item.name for item in self.rules if item.code == rule), None)


class TiersScheme(SchemeBase):
    """Ordered tiers: the first whose conditions hold gives the grade; the last is the default."""

    kind: Literal[SchemeKind.TIERS]
    tiers: tuple[Tier, ...] = Field(min_length=2)
    """Best or most specific first; the last has no conditions."""

    @model_validator(mode="after")
    def _consistent(self) -> TiersScheme:
        problems = _tier_problems(self.tiers, final_default=True)
        problems.extend(
            f"{tier.grade}: min_value applies to points schemes only"
            for tier in self.tiers
            if tier.min_value is not None
        )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def record_conditions(self) -> Iterator[tuple[tuple[str | int, ...], RecordCondition]]:
        yield from _tier_records("tiers", self.tiers)

    def list_references(self) -> Iterator[tuple[tuple[str | int, ...], str]]:
        yield from _tier_lists("tiers", self.tiers)

    def grades(self) -> tuple[str, ...]:
        return tuple(tier.grade for tier in self.tiers)

    def grade_name(self, grade: str) -> Bilingual | None:
        return _named(grade, self.tiers)


class ScorecardScheme(SchemeBase):
    """A trained scorecard (an artefact built by ``xinyong scorecard train``) and its bands."""

    kind: Literal[SchemeKind.SCORECARD]
    artefact: NonEmpty
    """Name of the trained artefact the points come from."""
    min: int
    """Lowest possible score."""
    max: int
    """Highest possible score."""
    features: tuple[RecordCondition, ...] = Field(min_length=1)
    """The record types the model reads: declared so the domain rule can be checked."""
    bands: tuple[Band, ...] = Field(min_length=1)
    """Grades by value; they cover ``min..max`` without gap or overlap."""

    @model_validator(mode="after")
    def _consistent(self) -> ScorecardScheme:
        problems = (
            [f"min {self.min} is above max {self.max}"]
            if self.min > self.max
            else _band_problems(self.bands, self.min, self.max)
        )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def record_conditions(self) -> Iterator[tuple[tuple[str | int, ...], RecordCondition]]:
        for index, feature in enumerate(self.features):
            yield ("features", index), feature

    def grades(self) -> tuple[str, ...]:
        return _best_first(self.bands, self.max)

    def grade_of(self, value: int) -> str:
        return _band_of(self.bands, value)

    def grade_name(self, grade: str) -> Bilingual | None:
        return _named(grade, self.bands)


def _band_of(bands: Sequence[Band], value: int) -> str:
    # Validation made the bands cover min..max exactly once, and values are clamped to it.
    return next(band.grade for band in bands if band.holds(value))


def _named(grade: str, graded: Sequence[Band | Tier]) -> Bilingual | None:
    return next((item.name for item in graded if item.grade == grade), None)


def _best_first(bands: Sequence[Band], high: int) -> tuple[str, ...]:
    ordered = sorted(bands, key=lambda band: high if band.max is None else band.max, reverse=True)
    return tuple(band.grade for band in ordered)


def _tier_records(
    key: str, tiers: Sequence[Tier]
) -> Iterator[tuple[tuple[str | int, ...], RecordCondition]]:
    for index, tier in enumerate(tiers):
        for location, condition in tier.conditions():
            if condition.records is not None:
                yield (key, index, *location, "records"), condition.records


def _tier_lists(key: str, tiers: Sequence[Tier]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for index, tier in enumerate(tiers):
        for location, condition in tier.conditions():
            if condition.list is not None:
                yield (key, index, *location, "list"), condition.list


Scheme = Annotated[PointsScheme | TiersScheme | ScorecardScheme, Field(discriminator="kind")]
"""A scheme of any kind, told apart by ``kind``."""

_SCHEME = TypeAdapter[PointsScheme | TiersScheme | ScorecardScheme](Scheme)
_BY_KIND: dict[str, type[SchemeBase]] = {
    SchemeKind.POINTS: PointsScheme,
    SchemeKind.TIERS: TiersScheme,
    SchemeKind.SCORECARD: ScorecardScheme,
}


class AnyScheme(SchemeBase):
    """One scheme of whichever kind it declares.

    Told apart by hand rather than by a tagged union, so that a problem is reported at its
    place in the file (``schemes[0].rules[2]``) without the kind inserted into the path.
    """

    @model_validator(mode="wrap")
    @classmethod
    def _by_kind(cls, data: Any, handler: ModelWrapValidatorHandler[AnyScheme]) -> Any:
        kind = data.get("kind") if isinstance(data, dict) else None
        model = _BY_KIND.get(kind) if isinstance(kind, str) else None
        if model is None:
            raise ValueError(f"kind must be one of {', '.join(_BY_KIND)}")
        return model.model_validate(data)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(_SCHEME.core_schema)


class SchemesDocument(ItemDocument):
    """A file ``schemes/NAME.yaml``: a list of schemes."""

    schemes: tuple[AnyScheme, ...] = Field(min_length=1)
    """The schemes defined in this file."""

    def items(self) -> tuple[AnyScheme, ...]:
        return self.schemes

"""Import profiles: how an external layout's columns become records (``profiles/*.yaml``).

Authorities export the layouts of national data standards (the double-publicity licence and
penalty tables), not the record format. A profile names the record type a layout maps to,
which column feeds which field, how codes are read (value maps, 万元 to yuan, date formats),
how the subject's identifier is found among several code columns, and how the severity is
decided. Reading through a profile is done by ``xinyong.ingest.profile``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from xinyong.policy.catalogue import AmountRule, RecordType
from xinyong.policy.errors import Location
from xinyong.policy.models import Bilingual, CodedModel, ItemDocument, NonEmpty, PolicyModel

Column = Annotated[str, StringConstraints(min_length=1, max_length=200)]
"""A column's header text, exactly as the layout names it."""


class Unit(StrEnum):
    """The unit an amount column is written in; the record holds yuan."""

    YUAN = "yuan"
    TEN_THOUSAND_YUAN = "ten_thousand_yuan"  # 万元


class IdentifierRole(StrEnum):
    """What a code column holds, which decides how it is read."""

    USCC = "uscc"
    """统一社会信用代码: the subject's identifier as it is."""
    REGISTRATION_NUMBER = "registration_number"
    """工商注册号 (15 digits): linked to the subject whose registration carries it."""
    ORGANISATION_CODE = "organisation_code"
    """组织机构代码 (9 characters): linked to the subject whose USCC embeds it."""
    PERSON_ID = "person_id"
    """证件号码 of a person, read when its type column names a resident identity card."""


class CodeColumn(PolicyModel):
    """One column that may identify the subject."""

    column: Column
    role: IdentifierRole
    type_column: Column | None = None
    """For ``person_id``: the column naming the kind of document (证件类型)."""
    type_values: tuple[NonEmpty, ...] = ()
    """Values of ``type_column`` that mean a resident identity card."""

    @model_validator(mode="after")
    def _typed(self) -> CodeColumn:
        if (self.type_column is None) != (not self.type_values):
            raise ValueError("type_column and type_values go together")
        return self


SEPARATORS = ";；、,，"
"""What separates the words of a cell that names several (罚款；没收违法所得, 警告、罚款)."""


class SeveralValues(PolicyModel):
    """A mapped cell that may name several of the layout's words at once (the standard's
    处罚类别 does: one decision may warn and fine). The field takes the gravest code, ``rest``
    the others, gravest first, when there are any."""

    ranked: tuple[NonEmpty, ...] = Field(min_length=1)
    """Every code the words map to, gravest first."""
    rest: NonEmpty
    """The field that holds the codes after the gravest (absent when the cell names one)."""


class MappedColumn(PolicyModel):
    """A column whose text feeds a field, maybe through a map of the layout's words."""

    column: Column
    values: dict[NonEmpty, NonEmpty] = Field(default_factory=dict)
    """The layout's words for the field's codes (e.g. 罚款 → fine); a value not in a non-empty
    map refuses the row, naming the column."""
    required: bool = False
    date: bool = False
    """The field is a day (``YYYY-MM-DD``), read like the profile's date columns."""
    several: SeveralValues | None = None
    """The cell may name several words, separated by any of :data:`SEPARATORS`."""

    @model_validator(mode="after")
    def _ranked(self) -> MappedColumn:
        several = self.several
        if several is None:
            return self
        if not self.values:
            raise ValueError("several needs values: the layout's words and their codes")
        unranked = sorted(set(self.values.values()) - set(several.ranked))
        if unranked:
            raise ValueError(f"several.ranked leaves out {', '.join(unranked)}")
        return self


class AmountColumns(PolicyModel):
    """The columns summed into ``amount`` (e.g. a fine and a confiscation), and their unit."""

    columns: tuple[Column, ...] = Field(min_length=1)
    unit: Unit = Unit.YUAN


class SeverityRule(PolicyModel):
    """How a row's grade is decided: from a column (through ``values``), or from how long the
    record is published (``publicity_end``: the grade whose publicity period holds the months
    from the decision to that date). Neither means the type's single grade."""

    column: Column | None = None
    values: dict[NonEmpty, NonEmpty] = Field(default_factory=dict)
    publicity_end: Column | None = None

    @model_validator(mode="after")
    def _one_way(self) -> SeverityRule:
        if (self.column is None) == (self.publicity_end is None):
            raise ValueError("give exactly one of column and publicity_end")
        return self


class Profile(CodedModel):
    """One external layout and the record type its rows become."""

    code: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]*$")]
    """The name given to ``--profile``, e.g. ``double_publicity.penalty``."""
    title: Bilingual
    record_type: NonEmpty
    """The record type every row of the layout becomes."""
    subject_name: Column
    subject_codes: tuple[CodeColumn, ...] = Field(min_length=1)
    """Code columns in the order they are tried: the first one filled identifies the subject."""
    authority: Column
    """The deciding body's name, matched to the authorities' Chinese names; a submission sent
    for one authority may leave it blank."""
    document_no: Column
    decided_on: Column
    effective_on: Column | None = None
    """When blank or absent, the decision takes effect on the day it is made."""
    date_formats: tuple[NonEmpty, ...] = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日")
    """``strptime`` formats tried in order for text dates; Excel dates and serials are read as
    they are."""
    amount: AmountColumns | None = None
    severity: SeverityRule | None = None
    fields: dict[NonEmpty, MappedColumn] = Field(default_factory=dict)
    """The record type's fields, each from a column."""

    @property
    def header(self) -> tuple[str, ...]:
        """Columns a header row must name for the layout to be recognised (offices leave out
        code columns they never fill)."""
        return (self.subject_name, self.document_no, self.decided_on)


class ProfilesDocument(ItemDocument):
    """A file ``profiles/*.yaml``: a list of import profiles."""

    profiles: tuple[Profile, ...] = Field(min_length=1)
    """The profiles of this file."""

    def items(self) -> tuple[Profile, ...]:
        return self.profiles


def profile_problems(
    profile: Profile, record_types: Mapping[str, RecordType], known_types: Collection[str]
) -> Iterator[tuple[Location, str]]:
    """What a profile names that its record type does not have."""
    record_type = record_types.get(profile.record_type)
    if record_type is None:
        if profile.record_type not in known_types:
            yield ("record_type",), f"unknown record type {profile.record_type!r}"
        return
    schema = record_type.fields.get("properties")
    properties = schema if isinstance(schema, dict) else {}
    for name, mapped in profile.fields.items():
        if name not in properties:
            yield ("fields", name), f"{record_type.code} has no field {name!r}"
        if mapped.several is not None and mapped.several.rest not in properties:
            yield (
                ("fields", name, "several", "rest"),
                f"{record_type.code} has no field {mapped.several.rest!r}",
            )
    if profile.amount is not None and record_type.amount is AmountRule.FORBIDDEN:
        yield ("amount",), f"{record_type.code} records carry no amount"
    severity = profile.severity
    if severity is None:
        if record_type.default_severity is None:
            yield ("severity",), f"{record_type.code} has several grades: say how one is decided"
        return
    grades = {str(grade) for grade in record_type.severities}
    for word, grade in severity.values.items():
        if grade not in grades:
            yield ("severity", "values", word), f"{grade!r} is not a grade of {record_type.code}"
    if severity.column is not None and not severity.values:
        yield ("severity", "values"), "a severity column needs values: the layout's words"

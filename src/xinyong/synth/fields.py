"""A record's ``fields``, built from the record type's JSON Schema in the loaded pack.

The schema decides which fields exist, which are required, their types, enums and bounds;
``conduct`` supplies realistic values for the fields it knows. A value the schema would
refuse (not in the enum, too long, out of range) is brought into line or left out, and the
result is checked with the pack's own validator, so a row is valid whatever the pack says.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastjsonschema import JsonSchemaValueException

from xinyong.policy import FieldsValidator, RecordType
from xinyong.synth.conduct import FIELD_DRAWS, FIELD_DRAWS_BY_NAME, FieldDraw, Occasion

# Said of a required text the domain knows nothing about: "see the decision document".
_PLACEHOLDER_TEXT = "见决定书"


class _Unfit:
    """A value the schema refuses and that cannot be brought into line."""


_UNFIT = _Unfit()


def _resolve(schema: Any, definitions: Mapping[str, Any]) -> Mapping[str, Any]:
    if not isinstance(schema, Mapping):
        return {}
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/$defs/"):
        return _resolve(definitions.get(reference.removeprefix("#/$defs/"), {}), definitions)
    return schema


def _json_type(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        return str(kind[0]) if kind else None
    return None if kind is None else str(kind)


def _bounds(schema: Mapping[str, Any], kind: str | None) -> tuple[float | None, float | None]:
    """The closed range of a number field; an integer's rounded inwards."""
    if kind not in ("integer", "number"):
        return None, None
    step = 1 if kind == "integer" else 0.5
    low = schema.get("minimum")
    if "exclusiveMinimum" in schema:
        low = schema["exclusiveMinimum"] + step
    high = schema.get("maximum")
    if "exclusiveMaximum" in schema:
        high = schema["exclusiveMaximum"] - step
    if kind == "integer":
        low = None if low is None else math.ceil(low)
        high = None if high is None else math.floor(high)
    return low, high


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One property of a fields schema, read once, and where its values come from."""

    name: str
    required: bool
    schema: Mapping[str, Any]
    draw: FieldDraw | None
    kind: str | None
    low: float | None
    high: float | None

    @classmethod
    def read(
        cls, name: str, required: bool, schema: Mapping[str, Any], draw: FieldDraw | None
    ) -> "FieldRule":
        kind = _json_type(schema)
        return cls(name, required, schema, draw, kind, *_bounds(schema, kind))

    def conform(self, value: Any) -> Any:
        """``value`` as the schema wants it (type, length, range), or ``_UNFIT``."""
        schema = self.schema
        if "const" in schema:
            return value if value == schema["const"] else _UNFIT
        try:
            if self.kind == "integer":
                value = int(value)
            elif self.kind == "number" and not isinstance(value, int | float):
                value = float(value)
        except (TypeError, ValueError):
            return _UNFIT
        if self.kind == "string":
            value = str(value)[: schema.get("maxLength")]
            if len(value) < schema.get("minLength", 0):
                return _UNFIT
        if self.low is not None and value < self.low:
            value = self.low
        if self.high is not None and value > self.high:
            value = self.high
        enum = schema.get("enum")
        if enum is not None and value not in enum:
            return _UNFIT
        return value


def generic_value(schema: Mapping[str, Any], occasion: Occasion) -> Any:
    """A value for a required field the domain has no opinion on, from its schema alone."""
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return occasion.rng.choice(schema["enum"])
    kind = _json_type(schema)
    if kind in ("integer", "number"):
        low, high = _bounds(schema, kind)
        start = 1 if low is None else math.ceil(low)
        return occasion.rng.randint(start, start + 99 if high is None else max(start, int(high)))
    if kind == "boolean":
        return occasion.rng.random() < 0.5
    if kind == "array":
        return []
    if kind == "object":
        return {}
    if schema.get("format") == "date":
        return occasion.decided_on.isoformat()
    return _PLACEHOLDER_TEXT


class FieldMaker:
    """Makes the ``fields`` of one record type."""

    def __init__(self, record_type: RecordType, validator: FieldsValidator) -> None:
        schema = record_type.fields
        definitions = schema.get("$defs")
        definitions = definitions if isinstance(definitions, Mapping) else {}
        properties = schema.get("properties")
        required = schema.get("required")
        required_names = set(required) if isinstance(required, list) else set()
        self.rules = tuple(
            FieldRule.read(
                name,
                name in required_names,
                _resolve(property_schema, definitions),
                FIELD_DRAWS.get((record_type.code, name)) or FIELD_DRAWS_BY_NAME.get(name),
            )
            for name, property_schema in (
                properties.items() if isinstance(properties, Mapping) else ()
            )
        )
        self._validate = validator

    def make(self, occasion: Occasion, given: Mapping[str, Any]) -> dict[str, Any] | None:
        """The fields, with ``given`` values where the caller links them to other records;
        None when even required-only fields do not satisfy the schema."""
        fields = self._assemble(occasion, given, optional=True)
        if self._valid(fields):
            return fields
        fields = self._assemble(occasion, given, optional=False)
        return fields if self._valid(fields) else None

    def _assemble(
        self, occasion: Occasion, given: Mapping[str, Any], *, optional: bool
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for rule in self.rules:
            if rule.name in given:
                value = given[rule.name]
            elif rule.draw is not None and (optional or rule.required):
                value = rule.draw(occasion)
            elif rule.required:
                value = generic_value(rule.schema, occasion)
            else:
                continue
            if value is None:
                continue
            value = rule.conform(value)
            if value is _UNFIT:
                if not rule.required:
                    continue
                value = generic_value(rule.schema, occasion)
            fields[rule.name] = value
        return fields

    def _valid(self, fields: dict[str, Any]) -> bool:
        try:
            self._validate(fields)
        except JsonSchemaValueException:
            return False
        return True

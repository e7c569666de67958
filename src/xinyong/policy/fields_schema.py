"""The JSON Schema subset a record type's ``fields`` may use, and its compiled validators.

fastjsonschema compiles draft-07 and silently ignores keywords it does not know (such as
2020-12's ``dependentRequired``) and formats it does not know. A pack author would then
believe a rule is enforced when it is not, so the subset is checked here keyword by keyword.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import fastjsonschema

FieldsValidator = Callable[[Any], Any]
"""Returns the data when valid; raises ``fastjsonschema.JsonSchemaValueException`` otherwise."""

_ONE_SUBSCHEMA = frozenset(
    {"additionalProperties", "items", "contains", "propertyNames", "not", "if", "then", "else"}
)
_NAMED_SUBSCHEMAS = frozenset({"properties", "patternProperties", "$defs"})
_LISTED_SUBSCHEMAS = frozenset({"allOf", "anyOf", "oneOf"})
_ASSERTIONS = frozenset(
    {
        "type",
        "enum",
        "const",
        "required",
        "minProperties",
        "maxProperties",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "$ref",
    }
)
_ANNOTATIONS = frozenset({"title", "description", "examples", "$comment"})
KEYWORDS = _ONE_SUBSCHEMA | _NAMED_SUBSCHEMAS | _LISTED_SUBSCHEMAS | _ASSERTIONS | _ANNOTATIONS
"""Every keyword a fields schema may use: those that mean the same in draft 2020-12 and draft-07."""

TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})

FORMATS = frozenset(
    {"date", "date-time", "time", "email", "hostname", "ipv4", "ipv6", "uri", "uri-reference"}
)
"""Formats that are checked (others would be accepted without any check)."""

LOCAL_REF_PREFIX = "#/$defs/"

NO_FIELDS: dict[str, Any] = {"type": "object", "additionalProperties": False}
"""The schema of a record type that carries no fields."""


def _subset_problems(schema: object, where: str) -> list[str]:
    if isinstance(schema, bool):
        return []
    if not isinstance(schema, Mapping):
        return [f"{where or 'fields'}: a schema must be an object or true/false"]
    problems: list[str] = []
    prefix = f"{where}." if where else ""
    for keyword, value in schema.items():
        here = f"{prefix}{keyword}"
        if keyword not in KEYWORDS:
            problems.append(
                f"{here}: keyword not supported (supported: {', '.join(sorted(KEYWORDS))})"
            )
        elif keyword in _ONE_SUBSCHEMA:
            if keyword == "items" and isinstance(value, list):
                problems.append(f"{here}: the list form of items is not part of draft 2020-12")
            else:
                problems.extend(_subset_problems(value, here))
        elif keyword in _NAMED_SUBSCHEMAS:
            if not isinstance(value, Mapping):
                problems.append(f"{here}: must map names to schemas")
                continue
            for name, subschema in value.items():
                problems.extend(_subset_problems(subschema, f"{here}.{name}"))
        elif keyword in _LISTED_SUBSCHEMAS:
            if not isinstance(value, list) or not value:
                problems.append(f"{here}: must be a non-empty list of schemas")
                continue
            for index, subschema in enumerate(value):
                problems.extend(_subset_problems(subschema, f"{here}[{index}]"))
        elif keyword == "type" and not _known_types(value):
            problems.append(f"{here}: {value!r} is not a JSON type ({', '.join(sorted(TYPES))})")
        elif keyword == "format" and value not in FORMATS:
            problems.append(
                f"{here}: unknown format {value!r} (checked: {', '.join(sorted(FORMATS))})"
            )
        elif keyword == "$ref" and not (
            isinstance(value, str) and value.startswith(LOCAL_REF_PREFIX)
        ):
            # A remote reference would make loading a pack fetch from the network.
            problems.append(f"{here}: only local references ({LOCAL_REF_PREFIX}NAME) are allowed")
    return problems


def _known_types(value: object) -> bool:
    types = value if isinstance(value, list) else [value]
    return bool(types) and all(isinstance(item, str) and item in TYPES for item in types)


def _record_fields_problems(schema: Mapping[str, Any]) -> list[str]:
    """Rules for the top level: the catalogue must name every field an authority may send."""
    problems: list[str] = []
    if schema.get("type") != "object":
        problems.append("type: must be 'object' (the fields of a record form an object)")
    if schema.get("additionalProperties") is not False:
        problems.append(
            "additionalProperties: must be false, so that only the fields named in the "
            "catalogue are collected (minimum collection)"
        )
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    if isinstance(properties, Mapping) and isinstance(required, list):
        for name in required:
            if name not in properties:
                problems.append(f"required: {name!r} is not declared in properties")
    return problems


def fields_schema_problems(schema: Mapping[str, Any]) -> list[str]:
    """Every way ``schema`` falls outside the subset; empty when it is acceptable."""
    problems = _subset_problems(schema, "") + _record_fields_problems(schema)
    if not problems:
        try:
            compile_fields_schema(schema)
        # fastjsonschema raises many exception types for a malformed definition (its own,
        # re.error, AttributeError ...); each means "not a valid schema" here.
        except Exception as exc:
            problems.append(f"not a valid JSON Schema: {exc}")
    return problems


def compile_fields_schema(schema: Mapping[str, Any]) -> FieldsValidator:
    """The compiled validator for ``schema``, shared by every record type with the same schema."""
    return _compile(json.dumps(schema, sort_keys=True, ensure_ascii=False))


@lru_cache(maxsize=1024)
def _compile(canonical: str) -> FieldsValidator:
    # use_default=False: validating a record must never change its fields.
    validator: FieldsValidator = fastjsonschema.compile(json.loads(canonical), use_default=False)
    return validator

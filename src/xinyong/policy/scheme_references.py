"""Cross-reference rules of scoring schemes: what they read must exist and be of their domain.

Separation of domains is checked here, against the catalogue: a financial scheme that reads
a public record type (or a list, which public records ground) is refused, and so is a public
scheme that reads a financial record type.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping

from xinyong.policy.catalogue import Domain, RecordType
from xinyong.policy.errors import Location
from xinyong.policy.lists import CreditList
from xinyong.policy.schemes import SchemeBase

Problem = tuple[str, str, Location, str]
"""(concept, item code, location inside the item, message)."""


def scheme_problems(
    schemes: Mapping[str, SchemeBase],
    record_types: Mapping[str, RecordType],
    known_types: Collection[str],
    lists: Mapping[str, CreditList],
    known_lists: Collection[str],
) -> Iterator[Problem]:
    for scheme in schemes.values():
        for location, condition in scheme.record_conditions():
            code = condition.record_type
            if code not in known_types:
                yield _problem(scheme, (*location, "record_type"), f"unknown record type {code!r}")
                continue
            record_type = record_types.get(code)
            if record_type is None:
                continue
            if record_type.domain is not scheme.domain:
                yield _problem(
                    scheme,
                    (*location, "record_type"),
                    f"a {scheme.domain} scheme cannot read {code}, a {record_type.domain} "
                    "record type",
                )
            if not set(record_type.subject_kinds) & set(scheme.subject_kinds):
                yield _problem(
                    scheme,
                    (*location, "record_type"),
                    f"{code} concerns none of the subjects the scheme rates",
                )
            for index, grade in enumerate(condition.severities):
                if grade not in record_type.severities:
                    yield _problem(
                        scheme,
                        (*location, "severities", index),
                        f"{code} has no grade {grade.value!r}",
                    )
            properties = record_type.fields.get("properties")
            names = set(properties) if isinstance(properties, dict) else set()
            for name in condition.fields:
                if name not in names:
                    yield _problem(
                        scheme, (*location, "fields", name), f"{code} has no field {name!r}"
                    )
        for location, list_code in scheme.list_references():
            if list_code not in known_lists:
                yield _problem(scheme, location, f"unknown list {list_code!r}")
            elif scheme.domain is Domain.FINANCIAL and list_code in lists:
                public = sorted(
                    rule.record_type
                    for rule in lists[list_code].entry
                    if rule.record_type in record_types
                    and record_types[rule.record_type].domain is Domain.PUBLIC
                )
                if public:
                    yield _problem(
                        scheme,
                        location,
                        f"a financial scheme cannot read {list_code}: public record types "
                        f"({', '.join(public)}) ground it",
                    )


def _problem(scheme: SchemeBase, location: Location, message: str) -> Problem:
    return "schemes", scheme.code, location, message

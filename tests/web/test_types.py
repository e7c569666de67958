"""The shared request types accept exactly what they mean, for any input hypothesis can make."""

import math
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, validators
from jsonschema import ValidationError as SchemaError
from pydantic import TypeAdapter, ValidationError

from xinyong.web.types import (
    MAX_ID,
    MAX_INT64,
    MAX_JSON_DEPTH,
    MAX_TEXT,
    Amount,
    Code,
    Id,
    JsonObject,
    Line,
    RecordRef,
    Text,
    explain,
)


def _ecma_pattern(
    validator: Any, pattern: str, instance: object, schema: dict[str, Any]
) -> Iterator[SchemaError]:
    """``pattern`` as JSON Schema means it (ECMA-262): ``$`` is the end of the text, where
    Python's ``re`` also matches before a final line break (and would admit ``"\\n"``)."""
    if isinstance(instance, str) and not re.search(re.sub(r"\$$", r"\\Z", pattern), instance):
        yield SchemaError(f"{instance!r} does not match {pattern!r}")


ECMAValidator = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})

LINE = TypeAdapter(Line)
TEXT = TypeAdapter(Text)
RECORD = TypeAdapter(RecordRef)
JSON_OBJECT = TypeAdapter(JsonObject)
# C0 and C1 controls, and the bidirectional marks, overrides and isolates.
CONTROL = (
    {chr(n) for n in range(0x20)}
    | {chr(n) for n in range(0x7F, 0xA0)}
    | {"\u200e", "\u200f"}
    | {chr(n) for n in range(0x202A, 0x202F)}
    | {chr(n) for n in range(0x2066, 0x206A)}
)


def accepts(adapter: TypeAdapter[Any], value: Any) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


@given(st.text(max_size=600))
def test_a_line_is_any_text_without_control_characters(value: str) -> None:
    assert accepts(LINE, value) == (len(value) <= 500 and not CONTROL & set(value))


@given(st.text(max_size=100))
def test_text_may_break_lines_but_hold_no_other_control_character(value: str) -> None:
    assert accepts(TEXT, value) == (not (CONTROL - {"\t", "\n", "\r"}) & set(value))


@given(st.text(st.characters(categories=["Nd"]), min_size=1, max_size=30))
def test_a_record_id_is_ascii_digits_within_the_id_column(digits: str) -> None:
    assert accepts(RECORD, digits) == (digits.isascii() and int(digits) <= MAX_ID)


@given(st.integers())
def test_an_id_fits_the_id_column(value: int) -> None:
    assert accepts(TypeAdapter(Id), value) == (1 <= value <= MAX_ID)


@given(st.floats())
def test_an_amount_is_finite_and_fits_the_amount_column(value: float) -> None:
    fits = math.isfinite(value) and abs(value) < 10**16
    assert accepts(TypeAdapter(Amount), value) == fits


@pytest.mark.parametrize("code", ["court.110105", "buy_air_ticket", "market.registration"])
def test_pack_codes_are_codes(code: str) -> None:
    assert accepts(TypeAdapter(Code), code)


@pytest.mark.parametrize("code", ["", " court", "court\x00", "法院", "a b", "-x"])
def test_other_text_is_not_a_code(code: str) -> None:
    assert not accepts(TypeAdapter(Code), code)


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"next": value}
    return value


@given(st.integers(min_value=1, max_value=40))
def test_json_objects_nest_only_so_deep(depth: int) -> None:
    assert accepts(JSON_OBJECT, nested(depth)) == (depth <= MAX_JSON_DEPTH)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=30,
)


def clean(value: Any, depth: int = 0) -> bool:
    """What a JsonObject means, written the plain way: the oracle for the property below."""
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return -MAX_INT64 - 1 <= value <= MAX_INT64
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return not (CONTROL - {"\t", "\n", "\r"}) & set(value)
    if depth >= MAX_JSON_DEPTH:
        return False
    if isinstance(value, dict):
        return all(clean(key) for key in value) and all(
            clean(item, depth + 1) for item in value.values()
        )
    return all(clean(item, depth + 1) for item in value)


@given(st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=5))
def test_json_objects_hold_only_clean_bounded_values(value: dict[str, Any]) -> None:
    assert accepts(JSON_OBJECT, value) == clean(value)


def test_patterns_are_told_in_words() -> None:
    with pytest.raises(ValidationError) as refused:
        LINE.validate_python("a\x00b")
    (error,) = refused.value.errors()
    assert (
        explain(dict(error))
        == "control characters (NUL, line breaks, tabs ...) and bidirectional overrides are not"
        " allowed here"
    )


@pytest.mark.parametrize(("adapter", "longest"), [(LINE, 500), (TEXT, MAX_TEXT), (RECORD, 300)])
@given(value=st.text(max_size=40), longer=st.integers(0, 2))
@example(value="\n", longer=0)  # a text that ends in a line break is not one line
def test_the_documented_schema_admits_exactly_what_validation_does(
    adapter: TypeAdapter[Any], longest: int, value: str, longer: int
) -> None:
    schema = adapter.json_schema()
    # The pattern stands apart from the lengths (web.types.PatternApart)...
    assert "pattern" not in schema and [set(part) for part in schema["allOf"]] == [{"pattern"}]
    # ... and the two together state what the server checks, at the length bound too.
    documented = ECMAValidator(schema)
    for sent in (value, value[:1] * (longest - 1 + longer)):
        assert documented.is_valid(sent) == accepts(adapter, sent) or (
            adapter is RECORD and sent.isdigit()  # a record id's range is checked in code
        )

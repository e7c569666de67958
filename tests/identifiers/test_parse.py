"""The package interface: detecting the kind, the result object, the raising variants, masking."""

import dataclasses
import json
from datetime import date

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from xinyong.identifiers import (
    IdentifierKind,
    InvalidIdentifier,
    ParsedIdentifier,
    mask,
    parse,
    resident_id,
    uscc,
    validate,
    validate_org_code,
    validate_resident_id,
    validate_uscc,
)

TODAY = date(2026, 1, 1)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("91110000600037341L", IdentifierKind.USCC),
        ("9131000063159284xq", IdentifierKind.USCC),
        ("11010519491231002x", IdentifierKind.RESIDENT_ID),
        ("360426 19910101 0071", IdentifierKind.RESIDENT_ID),
        ("60003734-1", IdentifierKind.ORG_CODE),
        ("600037341", IdentifierKind.ORG_CODE),
        # Invalid input is still read as the kind it looks like, so the errors make sense.
        ("91350211M0000XUF46", IdentifierKind.USCC),
        ("110105194912310021", IdentifierKind.RESIDENT_ID),  # only the check is wrong
        ("110105203001010012", IdentifierKind.RESIDENT_ID),  # born in the future
        ("110105491231002", IdentifierKind.RESIDENT_ID),  # 15 digits, first generation
        ("9111000060003734L", IdentifierKind.USCC),  # a character short
        ("1101051949123100", IdentifierKind.RESIDENT_ID),
        ("6000373", IdentifierKind.ORG_CODE),
        ("", IdentifierKind.ORG_CODE),
    ],
)
def test_kind_is_detected(raw: str, kind: IdentifierKind) -> None:
    assert parse(raw, today=TODAY).kind is kind


def test_digit_only_code_that_is_neither_reads_as_uscc_unless_it_looks_like_a_person() -> None:
    # Positions 7-14 "00600037" are no date and the MOD 11-2 check fails: a mistyped USCC.
    assert resident_id.check_character("91110000600037341") != "0"
    assert parse("911100006000373410", today=TODAY).kind is IdentifierKind.USCC


def test_explicit_kind_overrides_detection() -> None:
    parsed = parse("11010519491231002X", IdentifierKind.USCC)
    assert parsed.kind is IdentifierKind.USCC
    assert not parsed.valid
    assert parse("600037341", IdentifierKind.RESIDENT_ID).kind is IdentifierKind.RESIDENT_ID
    assert parse("600037341", IdentifierKind.ORG_CODE).valid


def test_result_keeps_raw_input_and_normalised_code() -> None:
    parsed = parse(" 9111 0000 6000 3734 1l ")
    assert parsed.raw == " 9111 0000 6000 3734 1l "
    assert parsed.code == "91110000600037341L"


def test_result_is_immutable() -> None:
    parsed = parse("91110000600037341L")
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.valid = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("91110000600037341L", "valid"),
        ("91350211M0000XUF46", "suspect"),
        ("91350211M0000XUF4", "invalid"),
    ],
)
def test_status(raw: str, status: str) -> None:
    assert parse(raw).status == status


def test_to_dict_is_json_with_the_same_keys_for_every_kind() -> None:
    dicts = [
        parse(raw, today=TODAY).to_dict()
        for raw in ("91110000600037341L", "11010519491231002X", "60003734-1", "nonsense")
    ]
    assert len({tuple(d) for d in dicts}) == 1
    company, person, org, nonsense = json.loads(json.dumps(dicts, ensure_ascii=False))
    assert company["kind"] == "uscc"
    assert company["registration_authority"] == {
        "code": "9",
        "name_zh": "工商",
        "name_en": "industry and commerce, now market regulation",
    }
    assert company["entity_type"]["name_zh"] == "企业"
    assert company["org_code_valid"] is True
    assert person["birth_date"] == "1949-12-31"
    assert person["sex"] == "female"
    assert person["masked"] == "110105********002X"
    assert org["status"] == "valid" and org["region_code"] is None
    assert nonsense["status"] == "invalid" and nonsense["errors"]


def test_validate_returns_the_parsed_identifier() -> None:
    assert validate("91110000600037341L").kind is IdentifierKind.USCC
    assert validate_uscc("91110000600037341L").valid
    assert validate_resident_id("11010519491231002X", today=TODAY).sex == "female"
    assert validate_org_code("60003734-1").code == "600037341"


def test_validate_raises_for_suspect_codes_and_says_so() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        validate_uscc("91350211M0000XUF46")
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.suspect
    assert error.reason == "check character (position 18) is '6', expected 'R'"
    assert error.parsed.code == "91350211M0000XUF46"


def test_validate_raises_for_malformed_codes() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        validate("110105199902290014", IdentifierKind.RESIDENT_ID, today=TODAY)
    assert not caught.value.suspect
    assert "not a calendar date" in caught.value.reason


def test_exception_message_masks_resident_ids() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        validate_resident_id("110105194912310021", today=TODAY)
    assert "110105194912310021" not in str(caught.value)
    assert "110105********0021" in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "kind", "masked"),
    [
        ("11010519491231002X", IdentifierKind.RESIDENT_ID, "110105********002X"),
        ("91110000600037341L", IdentifierKind.USCC, "91110000600037341L"),
        ("9111 0000 6000 3734 1l", IdentifierKind.USCC, "91110000600037341L"),
        ("60003734-1", IdentifierKind.ORG_CODE, "600037341"),
    ],
)
def test_mask_hides_only_personal_data(raw: str, kind: IdentifierKind, masked: str) -> None:
    assert mask(raw, kind) == masked


@given(st.text(max_size=40), st.sampled_from([None, *IdentifierKind]))
def test_parse_never_raises_and_is_consistent(raw: str, kind: IdentifierKind | None) -> None:
    parsed = parse(raw, kind, today=TODAY)
    assert isinstance(parsed, ParsedIdentifier)
    assert parsed.valid == (not parsed.errors)
    assert not (parsed.valid and parsed.suspect)
    assert parsed.code == parsed.code.upper()
    json.dumps(parsed.to_dict())


# Random text is almost never valid: the examples make sure the checks below run every time.
@example("91110000600037341L")
@example("11010519491231002X")
@given(st.text("0123456789ABCDEFGHJKLMNPQRTUWXYIOSVZ-", min_size=17, max_size=19))
def test_valid_means_the_checks_hold(raw: str) -> None:
    parsed = parse(raw, today=TODAY)
    if not parsed.valid:
        return
    code = parsed.code
    if parsed.kind is IdentifierKind.USCC:
        assert uscc.check_character(code[:17]) == code[17]
    elif parsed.kind is IdentifierKind.RESIDENT_ID:
        assert resident_id.check_character(code[:17]) == code[17]
    # Any other last character fails the check.
    for wrong in "0123456789X":
        if wrong != code[17]:
            assert not parse(code[:17] + wrong, kind=parsed.kind, today=TODAY).valid

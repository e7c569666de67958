"""Unified social credit codes, GB 32100-2015 (docs/sources.md §1).

Expected check characters are computed here from the published weights and alphabet, never
by the code under test. Guarantees tested, and why they hold:

- GB 32100 is a pure modulus-31 system: the values at positions 1-17 times 3^(i-1), plus the
  check value (weight 1), sum to 0 mod 31. 31 is prime and no weight is 0 mod 31, so **every
  single substitution within the 31-symbol alphabet at any of positions 1-18 changes the sum
  and is detected**.
- Swapping different characters a, b at positions i < j changes the sum by (a - b)(w_i - w_j).
  3 has order 30 mod 31, so the weights of positions 1-17 are distinct, and the check's weight
  1 equals only position 1's. So **every adjacent transposition is detected**, and so is every
  other transposition except the one between positions 1 and 18.
"""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from xinyong.identifiers import IdentifierKind, parse, parse_uscc, uscc

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
DIGITS = "0123456789"

# Registration authority -> entity types, from the table in docs/sources.md §1.
ENTITY_TYPES = {
    "1": "1239",
    "2": "19",
    "3": "123459",
    "4": "19",
    "5": "1239",
    "6": "129",
    "7": "129",
    "8": "19",
    "9": "123",
    "A": "19",
    "N": "1239",
    "Y": "1",
}


def org_check(body8: str) -> str:
    """GB 11714: C9 = 11 - (sum mod 11) over values 0-35, with 10 -> X and 11 -> 0."""
    c9 = 11 - sum(int(ch, 36) * w for ch, w in zip(body8, ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(c9, str(c9))


def uscc_check(body17: str) -> str:
    """GB 32100: C18 = (31 - (sum of value x weight mod 31)) mod 31."""
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(body17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def assemble(authority: str, entity_type: str, region: str, org_body: str) -> str:
    body = authority + entity_type + region + org_body + org_check(org_body)
    return body + uscc_check(body)


@st.composite
def usccs(draw: st.DrawFn, authorities: str = "".join(ENTITY_TYPES)) -> str:
    authority = draw(st.sampled_from(authorities))
    entity_type = draw(st.sampled_from(ENTITY_TYPES[authority]))
    region = draw(st.text(DIGITS, min_size=6, max_size=6))
    org_body = draw(st.text(ALPHABET, min_size=8, max_size=8))
    return assemble(authority, entity_type, region, org_body)


def replace(code: str, index: int, ch: str) -> str:
    return code[:index] + ch + code[index + 1 :]


def test_weights_are_powers_of_three_and_match_the_module() -> None:
    assert tuple(pow(3, i - 1, 31) for i in range(1, 18)) == WEIGHTS
    assert uscc.WEIGHTS == WEIGHTS
    assert uscc.ALPHABET == ALPHABET


def test_tables_cover_the_twelve_registration_authorities() -> None:
    assert {code: "".join(types) for code, types in uscc.ENTITY_TYPES.items()} == ENTITY_TYPES
    assert set(uscc.REGISTRATION_AUTHORITIES) == set(ENTITY_TYPES)
    assert uscc.REGISTRATION_AUTHORITIES["5"].name_zh == "民政"
    assert uscc.ENTITY_TYPES["9"]["2"].name_zh == "个体工商户"


@pytest.mark.parametrize("code", ["91110000600037341L", "9131000063159284XQ", "91350200776049653A"])
def test_known_valid_codes(code: str) -> None:
    parsed = parse_uscc(code)
    assert parsed.valid and not parsed.suspect and parsed.errors == ()
    assert parsed.org_code_valid is True
    assert uscc_check(code[:17]) == code[17]


def test_decodes_the_stdnum_example() -> None:
    """91110000600037341L: sum 538, 538 mod 31 = 11, 31 - 11 = 20 = L (docs/sources.md §1)."""
    parsed = parse_uscc("91110000600037341L")
    assert parsed.kind is IdentifierKind.USCC
    assert parsed.registration_authority is not None
    assert (parsed.registration_authority.code, parsed.registration_authority.name_zh) == (
        "9",
        "工商",
    )
    assert parsed.entity_type is not None
    assert (parsed.entity_type.code, parsed.entity_type.name_en) == ("1", "enterprise")
    assert parsed.region_code == "110000"
    assert parsed.org_code == "600037341"
    assert parsed.warnings == ()


@pytest.mark.parametrize(
    ("code", "expected"),
    [("91350211M0000XUF46", "R"), ("91350100M0001TGQXM", "1")],
)
def test_wrongly_issued_registry_codes_are_suspect(code: str, expected: str) -> None:
    """Fujian codes issued with a wrong check character (docs/sources.md §1): suspect, not malformed."""
    parsed = parse_uscc(code)
    assert not parsed.valid
    assert parsed.suspect
    assert parsed.org_code_valid is True
    assert parsed.errors == (
        f"check character (position 18) is {code[17]!r}, expected {expected!r}",
    )
    assert uscc_check(code[:17]) == expected


@given(usccs())
def test_every_generated_code_validates(code: str) -> None:
    parsed = parse_uscc(code)
    assert parsed.valid, parsed.errors
    assert not parsed.suspect
    assert parsed.warnings == ()
    assert parsed.registration_authority is not None
    assert parsed.registration_authority.code == code[0]
    assert parsed.entity_type is not None
    assert parsed.entity_type.code == code[1]
    assert parsed.region_code == code[2:8]
    assert parsed.org_code == code[8:17]
    assert parsed.org_code_valid is True


@given(usccs())
def test_make_and_check_character_agree_with_the_published_algorithm(code: str) -> None:
    assert uscc.make(code[0], code[1], code[2:8], code[8:16]) == code
    assert uscc.check_character(code[:17]) == code[17]
    # python-stdnum's calc_check_digit is an independent implementation of the same sum.
    assert stdnum_uscc.calc_check_digit(code[:17]) == code[17]


@pytest.mark.parametrize("authority", ["A", "N", "Y"])
@given(data=st.data())
def test_letter_registration_authorities_are_valid(authority: str, data: st.DataObject) -> None:
    code = data.draw(usccs(authorities=authority))
    assert code[0] == authority
    parsed = parse(code)
    assert parsed.kind is IdentifierKind.USCC
    assert parsed.valid, parsed.errors


@pytest.mark.parametrize(
    ("parts", "name_zh"),
    [(("N", "2", "350211", "12345678"), "农业"), (("Y", "1", "110105", "MA01ABCD"), "其他")],
)
def test_make_builds_letter_authority_codes(parts: tuple[str, str, str, str], name_zh: str) -> None:
    code = uscc.make(*parts)
    assert code == assemble(*parts)
    parsed = parse_uscc(code)
    assert parsed.valid
    assert parsed.registration_authority is not None
    assert parsed.registration_authority.name_zh == name_zh


@given(usccs(), st.integers(0, 17), st.sampled_from(ALPHABET))
def test_every_single_substitution_is_detected(code: str, index: int, ch: str) -> None:
    mutated = replace(code, index, ch)
    if mutated == code:
        return
    assert uscc_check(mutated[:17]) != mutated[17]
    assert not parse_uscc(mutated).valid


@given(usccs(), st.integers(0, 16))
def test_every_adjacent_transposition_is_detected(code: str, index: int) -> None:
    a, b = code[index], code[index + 1]
    swapped = code[:index] + b + a + code[index + 2 :]
    if a == b:
        return
    assert uscc_check(swapped[:17]) != swapped[17]
    assert not parse_uscc(swapped).valid


@given(usccs(), st.integers(0, 17), st.integers(0, 17))
def test_transpositions_other_than_first_and_last_are_detected(code: str, i: int, j: int) -> None:
    i, j = sorted((i, j))
    if code[i] == code[j] or (i, j) == (0, 17):
        return
    swapped = code[:i] + code[j] + code[i + 1 : j] + code[i] + code[j + 1 :]
    assert uscc_check(swapped[:17]) != swapped[17]
    assert not parse_uscc(swapped).valid


def test_positions_one_and_eighteen_share_a_weight() -> None:
    """Both weigh 1 (3^0 and the check): swapping them keeps the check (a limit of GB 32100)."""
    code = "91110000600037341L"
    swapped = code[17] + code[1:17] + code[0]
    assert uscc_check(swapped[:17]) == swapped[17]
    # The swapped code still fails: "L" is no registration authority.
    assert not parse_uscc(swapped).suspect
    assert not parse_uscc(swapped).valid


def test_wrong_organisation_code_check_is_suspect() -> None:
    org_body = "60003734"
    wrong_org = "2" if org_check(org_body) != "2" else "3"
    body = "911100006000373" + "4" + wrong_org
    code = body + uscc_check(body)
    parsed = parse_uscc(code)
    assert parsed.suspect and not parsed.valid
    assert parsed.org_code_valid is False
    assert parsed.errors == (
        f"organisation-code check character (position 17) is '{wrong_org}', expected '1'",
    )


def test_both_checks_wrong_is_still_suspect() -> None:
    parsed = parse_uscc("91110000600037342X")
    assert parsed.suspect
    assert len(parsed.errors) == 2


def test_unknown_registration_authority_is_an_error() -> None:
    code = assemble("B", "1", "110000", "60003734")
    parsed = parse_uscc(code)
    assert not parsed.valid and not parsed.suspect
    assert parsed.registration_authority is None
    assert parsed.errors == (
        "registration-authority code 'B' (position 1) is not assigned in GB 32100",
    )


def test_unknown_entity_type_under_a_known_authority_is_a_warning() -> None:
    code = assemble("9", "5", "110000", "60003734")
    parsed = parse_uscc(code)
    assert parsed.valid
    assert parsed.entity_type is None
    assert parsed.registration_authority is not None
    assert len(parsed.warnings) == 1
    assert "entity-type code '5'" in parsed.warnings[0]


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("91110000600037341", "has 17 characters; a unified social credit code has 18"),
        ("9111000060003734IL", "position 17 is 'I', which GB 32100 does not use"),
        ("9111A000600037341L", "position 5 is 'A'; positions 3-8 (region code) are digits"),
        (
            "9111000060003734AL",
            "position 17 is 'A'; the organisation-code check character is a digit or X",
        ),
    ],
)
def test_malformed_codes_are_not_suspect(code: str, error: str) -> None:
    parsed = parse_uscc(code)
    assert not parsed.valid and not parsed.suspect
    assert any(message.startswith(error) for message in parsed.errors), parsed.errors


def test_position_18_outside_the_alphabet_is_malformed() -> None:
    parsed = parse_uscc("91110000600037341O")
    assert not parsed.suspect
    assert parsed.errors[0].startswith("position 18 is 'O'")


@pytest.mark.parametrize(
    "parts",
    [
        ("0", "1", "110000", "60003734"),
        ("9", "5", "110000", "60003734"),
        ("9", "1", "11000", "60003734"),
        ("9", "1", "11000A", "60003734"),
        ("9", "1", "110000", "6000373"),
        ("9", "1", "110000", "6000373I"),
    ],
)
def test_make_rejects_bad_parts(parts: tuple[str, str, str, str]) -> None:
    with pytest.raises(ValueError):
        uscc.make(*parts)


@pytest.mark.parametrize(
    "body", ["9111000060003734", "9111000060003734I", "９１１１０００００６０００３７３４１"]
)
def test_check_character_rejects_bad_bodies(body: str) -> None:
    with pytest.raises(ValueError):
        uscc.check_character(body)


def test_generated_code_is_not_read_as_a_person() -> None:
    """An all-digit USCC whose positions 7-14 happen to spell a date (1910-10-10)."""
    code = "911101191010100566"
    assert code.isdigit() and uscc_check(code[:17]) == code[17]
    parsed = parse(code, today=date(2026, 1, 1))
    assert parsed.kind is IdentifierKind.USCC
    assert parsed.valid

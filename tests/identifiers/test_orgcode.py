"""Organisation codes, GB 11714-1997 (docs/sources.md §1).

C9 = 11 - (sum of value x weight mod 11) over values 0-35 (0-9, A-Z) and weights
3, 7, 9, 10, 5, 8, 4, 2; 10 is written X and 11 is written 0. Expected checks are computed here.

What the check guarantees: every weight is nonzero mod the prime 11, so a substitution that
changes a body value by d is detected exactly when d is not a multiple of 11. **Every
single substitution of a digit by another digit is detected**, and so is every change of
the check character; substitutions between characters 11 or 22 apart in value (``6`` and
``H``, ``0``, ``B`` and ``M``) are not. Inside a USCC the modulus-31 check catches those.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.identifiers import IdentifierKind, orgcode, parse, parse_org_code, parse_uscc

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
DIGITS = "0123456789"


def org_check(body8: str) -> str:
    c9 = 11 - sum(ALPHABET.index(ch) * w for ch, w in zip(body8, WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(c9, str(c9))


@st.composite
def org_codes(draw: st.DrawFn, alphabet: str = ALPHABET) -> str:
    body = draw(st.text(alphabet, min_size=8, max_size=8))
    return body + org_check(body)


def test_weights_are_powers_of_two_mod_11() -> None:
    assert tuple(pow(2, 9 - i, 11) for i in range(1, 9)) == WEIGHTS == orgcode.WEIGHTS


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("60003734-1", "600037341"),  # in 91110000600037341L: sum 109, 11 - 10 = 1
        ("63159284-X", "63159284X"),  # in 9131000063159284XQ: remainder 1, 10 -> X
        ("10000004-0", "100000040"),  # 1 x 3 + 4 x 2 = 11, remainder 0, 11 -> 0
        ("77604965-3", "776049653"),
    ],
)
def test_known_codes(raw: str, code: str) -> None:
    parsed = parse(raw)
    assert parsed.kind is IdentifierKind.ORG_CODE
    assert parsed.code == code
    assert parsed.valid and not parsed.suspect
    assert org_check(code[:8]) == code[8]


@given(org_codes())
def test_every_generated_code_validates(code: str) -> None:
    assert orgcode.check_character(code[:8]) == code[8]
    hyphenated = f"{code[:8]}-{code[8]}"
    for raw in (code, hyphenated):
        parsed = parse(raw)
        assert parsed.kind is IdentifierKind.ORG_CODE
        assert parsed.valid, parsed.errors


@given(org_codes(), st.integers(0, 8), st.sampled_from(DIGITS + "X"))
def test_digit_substitutions_and_check_changes_are_detected(code: str, index: int, ch: str) -> None:
    if index < 8 and (ch == "X" or code[index] not in DIGITS):
        return
    mutated = code[:index] + ch + code[index + 1 :]
    if mutated == code:
        return
    assert org_check(mutated[:8]) != mutated[8]
    assert not parse_org_code(mutated).valid


def test_substitution_by_a_value_eleven_apart_is_not_detected() -> None:
    """6 -> H (17): the sum moves by 11 x 3. The USCC around it still catches the change."""
    assert parse_org_code("H0003734-1").valid
    assert not parse_uscc("91110000H00037341L").valid


def test_wrong_check_character_is_suspect() -> None:
    parsed = parse_org_code("60003734-2")
    assert parsed.suspect and not parsed.valid
    assert parsed.errors == ("check character is '2', expected '1'",)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("6000373-1", "has 8 characters; an organisation code has 9"),
        ("6000_734-1", "position 5 is '_'; the body of an organisation code is 0-9 and A-Z"),
        ("60003734-A", "position 9 is 'A'; a check character is a digit or X"),
    ],
)
def test_malformed_codes_are_not_suspect(raw: str, error: str) -> None:
    parsed = parse_org_code(raw)
    assert not parsed.valid and not parsed.suspect
    assert parsed.errors == (error,)


@pytest.mark.parametrize("body", ["6000373", "6000373a", "6000-734"])
def test_check_character_rejects_bad_bodies(body: str) -> None:
    with pytest.raises(ValueError):
        orgcode.check_character(body)

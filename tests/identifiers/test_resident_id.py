"""Resident identity numbers, GB 11643-1999 (docs/sources.md §1).

The check is ISO 7064 MOD 11-2: weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 (2^(18-i) mod 11),
remainder of the weighted sum 0-10 written ``1 0 X 9 8 7 6 5 4 3 2``. Expected checks are
computed here from those published values.

What the check guarantees: the weighted sum plus the check value is 1 mod 11, the check
weighing 1. Every weight is nonzero mod the prime 11, so **every single-digit substitution
is detected**. Neighbouring weights differ (w_i = 2 w_(i+1)), so **every transposition of two
different adjacent characters is detected**. 2 has order 10 mod 11, so positions ten apart
weigh the same and **a transposition of positions i and i+10 is not detected** by the check.
"""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric as stdnum_ric

from xinyong.identifiers import (
    IdentifierKind,
    mask,
    parse,
    parse_resident_id,
    resident_id,
)

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECKS = "10X98765432"
DIGITS = "0123456789"
TODAY = date(2026, 1, 1)


def resident_check(body17: str) -> str:
    return CHECKS[sum(int(d) * w for d, w in zip(body17, WEIGHTS, strict=True)) % 11]


def assemble(region: str, yyyymmdd: str, sequence: str) -> str:
    body = region + yyyymmdd + sequence
    return body + resident_check(body)


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    region = draw(st.text(DIGITS, min_size=6, max_size=6))
    born = draw(st.dates(date(1800, 1, 1), TODAY))
    sequence = draw(st.integers(0, 999))
    return assemble(region, f"{born:%Y%m%d}", f"{sequence:03d}")


def test_weights_are_powers_of_two_mod_11() -> None:
    assert tuple(pow(2, 18 - i, 11) for i in range(1, 18)) == WEIGHTS


@pytest.mark.parametrize(
    ("code", "born", "sex"),
    [
        ("360426199101010071", date(1991, 1, 1), "male"),  # python-stdnum: sum 231, mod 0 -> 1
        ("11010519491231002X", date(1949, 12, 31), "female"),  # sum 167, mod 2 -> X
    ],
)
def test_known_numbers(code: str, born: date, sex: str) -> None:
    parsed = parse(code, today=TODAY)
    assert parsed.kind is IdentifierKind.RESIDENT_ID
    assert parsed.valid and not parsed.suspect and parsed.errors == ()
    assert parsed.region_code == code[:6]
    assert parsed.birth_date == born
    assert parsed.sex == sex
    assert resident_check(code[:17]) == code[17]


@given(resident_ids())
def test_every_generated_number_validates(code: str) -> None:
    parsed = parse_resident_id(code, today=TODAY)
    assert parsed.valid, parsed.errors
    assert parsed.birth_date is not None
    assert f"{parsed.birth_date:%Y%m%d}" == code[6:14]
    assert parsed.sex == ("male" if int(code[16]) % 2 == 1 else "female")
    assert parse(code, today=TODAY).kind is IdentifierKind.RESIDENT_ID


@given(resident_ids())
def test_make_and_check_character_agree_with_the_published_algorithm(code: str) -> None:
    assert resident_id.check_character(code[:17]) == code[17]
    # python-stdnum's formula (1 - 2 int(body, 13)) mod 11 is an independent implementation.
    assert stdnum_ric.calc_check_digit(code) == code[17]
    born = date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    assert resident_id.make(code[:6], born, int(code[14:17])) == code


@given(resident_ids(), st.integers(0, 17), st.sampled_from(DIGITS + "X"))
def test_every_single_digit_substitution_is_detected(code: str, index: int, ch: str) -> None:
    if index < 17 and ch == "X":
        return
    mutated = code[:index] + ch + code[index + 1 :]
    if mutated == code:
        return
    assert resident_check(mutated[:17]) != mutated[17]
    assert not parse_resident_id(mutated, today=TODAY).valid


@given(resident_ids(), st.integers(0, 16))
def test_every_adjacent_transposition_is_detected(code: str, index: int) -> None:
    a, b = code[index], code[index + 1]
    if a == b:
        return
    swapped = code[:index] + b + a + code[index + 2 :]
    assert not parse_resident_id(swapped, today=TODAY).valid
    if b != "X":  # otherwise X lands in the body and the number is malformed anyway
        assert resident_check(swapped[:17]) != swapped[17]


@given(resident_ids(), st.integers(0, 7))
def test_transpositions_ten_apart_keep_the_check(code: str, index: int) -> None:
    """Including positions 8 and 18: the check character weighs 1, like position 8."""
    far = index + 10
    swapped = code[:index] + code[far] + code[index + 1 : far] + code[index] + code[far + 1 :]
    if "X" in swapped[:17]:
        return
    assert resident_check(swapped[:17]) == swapped[17]


def test_transposing_region_and_sequence_digits_goes_unnoticed() -> None:
    """Positions 6 and 16 weigh 4: swapping them gives another valid number."""
    code = "11010519491231002X"
    swapped = code[:5] + code[15] + code[6:15] + code[5] + code[16:]
    assert swapped == "11010019491231052X"
    assert parse_resident_id(swapped, today=TODAY).valid


def test_29_february_exists_only_in_leap_years() -> None:
    leap = assemble("110105", "20000229", "001")
    assert parse(leap, today=TODAY).valid

    for yyyymmdd in ("19990229", "19000229"):
        code = assemble("110105", yyyymmdd, "001")
        for parsed in (parse(code, today=TODAY), parse_resident_id(code, today=TODAY)):
            assert parsed.kind is IdentifierKind.RESIDENT_ID
            assert not parsed.valid and not parsed.suspect
            assert parsed.birth_date is None
            assert parsed.errors == (
                f"birth date {yyyymmdd} (positions 7-14) is not a calendar date",
            )


@pytest.mark.parametrize("yyyymmdd", ["19911301", "19910431", "19910100", "00000101"])
def test_impossible_dates_are_rejected(yyyymmdd: str) -> None:
    parsed = parse_resident_id(assemble("110105", yyyymmdd, "001"), today=TODAY)
    assert not parsed.valid and not parsed.suspect


def test_birth_date_in_the_future_is_rejected() -> None:
    tomorrow = TODAY + timedelta(days=1)
    code = resident_id.make("110105", tomorrow, 1)
    parsed = parse(code, today=TODAY)
    assert parsed.kind is IdentifierKind.RESIDENT_ID
    assert not parsed.valid and not parsed.suspect
    assert parsed.errors == (
        f"birth date {tomorrow.isoformat()} (positions 7-14) is after today, {TODAY.isoformat()}",
    )
    assert parse(code, today=tomorrow).valid


def test_today_defaults_to_the_current_date() -> None:
    assert parse_resident_id(resident_id.make("110105", date.today(), 1)).valid
    future = date.today() + timedelta(days=2)  # still future if the date turns meanwhile
    assert not parse_resident_id(resident_id.make("110105", future, 1)).valid


def test_birth_year_before_1800_is_rejected() -> None:
    parsed = parse_resident_id(assemble("110105", "17991231", "001"), today=TODAY)
    assert not parsed.valid and not parsed.suspect
    assert parsed.errors == ("birth date 1799-12-31 (positions 7-14) is before 1800",)


@pytest.mark.parametrize(
    ("sequence", "sex"), [(1, "male"), (2, "female"), (999, "male"), (0, "female")]
)
def test_sex_follows_the_parity_of_the_sequence(sequence: int, sex: str) -> None:
    code = resident_id.make("110105", date(1980, 6, 15), sequence)
    assert code[14:17] == f"{sequence:03d}"
    assert parse_resident_id(code, today=TODAY).sex == sex


def test_wrong_check_character_is_suspect() -> None:
    parsed = parse_resident_id("110105194912310021", today=TODAY)
    assert parsed.suspect and not parsed.valid
    assert parsed.errors == ("check character (position 18) is '1', expected 'X'",)
    assert parsed.birth_date == date(1949, 12, 31)


def test_wrong_check_with_a_bad_date_is_not_suspect() -> None:
    body = "11010519990229001"
    wrong = "0" if resident_check(body) != "0" else "1"
    parsed = parse_resident_id(body + wrong, today=TODAY)
    assert not parsed.suspect
    assert len(parsed.errors) == 2


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("110105491231002", "has 15 digits: a first-generation (1989) number"),
        ("1101051949123100", "has 16 characters; a resident identity number has 18"),
        ("11010519491231A02X", "position 15 is 'A'; positions 1-17 are digits"),
        ("11010519491231002Y", "position 18 is 'Y'; the check character is a digit or X"),
    ],
)
def test_malformed_numbers(raw: str, error: str) -> None:
    parsed = parse_resident_id(raw, today=TODAY)
    assert not parsed.valid and not parsed.suspect
    assert parsed.errors[0].startswith(error)


def test_digits_of_other_scripts_are_not_digits() -> None:
    arabic_indic = "".join(chr(0x660 + int(d)) for d in "11010519491231002") + "X"
    parsed = parse_resident_id(arabic_indic, today=TODAY)
    assert not parsed.valid and not parsed.suspect


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("11010519491231002X", "110105********002X"),
        ("110105 19491231 002x", "110105********002X"),
        ("360426199101010071", "360426********0071"),
        ("110105491231002", "***************"),
    ],
)
def test_masking_hides_the_birth_date(raw: str, masked: str) -> None:
    assert mask(raw, IdentifierKind.RESIDENT_ID) == masked


def test_parsed_number_carries_its_mask() -> None:
    assert parse("11010519491231002X", today=TODAY).masked == "110105********002X"


@pytest.mark.parametrize(
    ("region", "born", "sequence"),
    [
        ("11010", date(1980, 1, 1), 1),
        ("11010A", date(1980, 1, 1), 1),
        ("110105", date(1799, 12, 31), 1),
        ("110105", date(1980, 1, 1), 1000),
        ("110105", date(1980, 1, 1), -1),
    ],
)
def test_make_rejects_bad_parts(region: str, born: date, sequence: int) -> None:
    with pytest.raises(ValueError):
        resident_id.make(region, born, sequence)


@pytest.mark.parametrize("body", ["1101051949123100", "1101051949123100X"])
def test_check_character_rejects_bad_bodies(body: str) -> None:
    with pytest.raises(ValueError):
        resident_id.check_character(body)


@given(
    st.one_of(
        resident_ids(),
        resident_ids().map(lambda code: code[:17] + ("0" if code[17] != "0" else "1")),
        st.text("0123456789X", min_size=17, max_size=19),
        st.builds(
            lambda born, sequence: assemble("110105", born, sequence),
            st.text(DIGITS, min_size=8, max_size=8)
            | st.dates(date(1700, 1, 1), date(2100, 1, 1)).map(lambda day: f"{day:%Y%m%d}"),
            st.text(DIGITS, min_size=3, max_size=3),
        ),
        st.text(min_size=18, max_size=18),
    )
)
def test_is_valid_agrees_with_examine(code: str) -> None:
    assert resident_id.is_valid(code, TODAY) == (not resident_id.examine(code, TODAY).errors)


@given(
    st.lists(
        st.one_of(
            resident_ids(),
            resident_ids().map(lambda code: code[:17] + ("0" if code[17] != "0" else "1")),
            st.text("0123456789X", min_size=18, max_size=18),
            st.builds(
                lambda born, sequence: assemble("110105", born, sequence),
                st.text(DIGITS, min_size=8, max_size=8)
                | st.dates(date(1700, 1, 1), date(2100, 1, 1)).map(lambda day: f"{day:%Y%m%d}"),
                st.text(DIGITS, min_size=3, max_size=3),
            ),
            st.text(min_size=18, max_size=18),
        ),
        min_size=32,
        max_size=80,
    ),
    st.one_of(st.just([]), st.lists(st.text("0123456789X", min_size=17, max_size=19), max_size=3)),
)
def test_invalid_positions_are_where_is_valid_fails(codes: list[str], odd: list[str]) -> None:
    # A batch of numbers all 18 characters long takes the array path; with others mixed
    # in, or a few, the one-by-one path: each must find exactly the numbers is_valid refuses.
    for batch in (codes, codes + odd, codes[:3]):
        assert resident_id.invalid_positions(batch, TODAY) == [
            n for n, code in enumerate(batch) if not resident_id.is_valid(code, TODAY)
        ]


def test_invalid_positions_hold_on_leap_days_and_today() -> None:
    leap = assemble("110105", "20000229", "001")
    not_leap = assemble("110105", "19000229", "001")
    born_today = assemble("110105", f"{TODAY:%Y%m%d}", "001")
    tomorrow = assemble("110105", f"{TODAY + timedelta(days=1):%Y%m%d}", "001")
    early = assemble("110105", "17991231", "001")
    batch = [leap, not_leap, born_today, tomorrow, early] * 10
    assert resident_id.invalid_positions(batch, TODAY) == [
        n for n in range(50) if n % 5 in (1, 3, 4)
    ]


def test_invalid_positions_are_not_fooled_by_line_breaks_or_shifted_lengths() -> None:
    # A number one short followed by one a line break long: the batch has the length of
    # valid numbers, and the second holds a valid number after its break.
    valid = assemble("110105", "19491231", "002")
    batch = [valid] * 40
    batch[3], batch[4] = valid[:17], "\n" + valid
    assert resident_id.invalid_positions(batch, TODAY) == [3, 4]
    batch[3], batch[4] = valid[:17], valid + "0"
    assert resident_id.invalid_positions(batch, TODAY) == [3, 4]

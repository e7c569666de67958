"""Normalisation: the spelling of GB 32100, GB 11714 and GB 11643 codes from what people type."""

import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from xinyong.identifiers import normalise

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# Separators seen in pasted and typed codes: spaces (ASCII, ideographic, no-break), tabs, line
# breaks, hyphens and dashes (ASCII, Unicode hyphen, en and em dash, full-width hyphen-minus,
# minus sign) and invisible characters (zero-width space, byte-order mark, soft hyphen).
SEPARATORS = [
    " ",
    "\u3000",
    "\u00a0",
    "\t",
    "\r\n",
    "-",
    "\u2010",
    "\u2013",
    "\u2014",
    "\uff0d",
    "\u2212",
    "\u200b",
    "\ufeff",
    "\u00ad",
]


def full_width(ch: str) -> str:
    return chr(ord(ch) + 0xFEE0)


@st.composite
def decorated(draw: st.DrawFn, code: str) -> str:
    """``code`` with each character lower-cased or full-width at will, separators between."""
    parts = [draw(st.sampled_from(["", *SEPARATORS]))]
    for ch in code:
        form = draw(st.sampled_from([ch, ch.lower(), full_width(ch), full_width(ch.lower())]))
        parts.append(form)
        parts.append(draw(st.sampled_from(["", "", *SEPARATORS])))
    return "".join(parts)


codes = st.one_of(
    st.text(USCC_ALPHABET, min_size=18, max_size=18),
    st.text("0123456789", min_size=17, max_size=17).map(lambda body: body + "X"),
    st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=9, max_size=9),
)


@given(codes.flatmap(lambda code: st.tuples(st.just(code), decorated(code))))
def test_decorations_are_removed(case: tuple[str, str]) -> None:
    code, raw = case
    assert normalise(raw) == code


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("９１１１００００６０００３７３４１Ｌ", "91110000600037341L"),
        ("  91110000 600037341l\n", "91110000600037341L"),
        ("6000 3734－1", "600037341"),
        ("60003734—1", "600037341"),
        ("110105\u300019491231\u3000002x", "11010519491231002X"),
        ("", ""),
    ],
)
def test_examples(raw: str, code: str) -> None:
    assert normalise(raw) == code


@given(st.text(st.characters(max_codepoint=127)))
def test_ascii_input_loses_whitespace_and_hyphens_and_is_upper_cased(raw: str) -> None:
    expected = "".join(ch for ch in raw if not ch.isspace() and ch != "-").upper()
    assert normalise(raw) == expected


@given(st.text())
@example("e-\u0301")  # dropping the dash lets the accent join its letter
@example("\u00aa")  # NFKC makes a lower-case a of the ordinal indicator
@example("\ufb00")  # the ff ligature
def test_normalise_is_idempotent(raw: str) -> None:
    once = normalise(raw)
    assert normalise(once) == once


@given(st.text())
def test_output_has_no_separators_and_no_lower_case(raw: str) -> None:
    normalised = normalise(raw)
    assert not any(ch.isspace() or unicodedata.category(ch) == "Pd" for ch in normalised)
    assert normalised == normalised.upper()

"""Verification codes: a genuine code reads back its claims; any change to it, and any code
signed by another key, is refused."""

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.ledger.checkpoint import SigningKey
from xinyong.subjects.report import Report, Section
from xinyong.subjects.verification import KEY_NAME, NotGenuine, claims_of, issue, read_code

KEY = SigningKey.generate(KEY_NAME)
REPORT = Report(
    number="XY-20261206-ABCDEFGHIJ",
    issued_at="2026-12-06T01:02:03+00:00",
    issuer="公共信用信息平台",
    issued_to="公众 Anyone",
    covering="公开信用信息 Public credit information",
    name="北京示例科技有限公司",
    identifier="91110105000000011X",
    as_of="2026-12-06",
    verify_at="https://credit.example.gov.cn/verify",
    title="公共信用信息报告",
    heading=["北京示例科技有限公司"],
    sections=[Section("公开记录", ("文号",), [("京朝市监罚〔2024〕1号",)], "none")],
)
CODE = issue(REPORT, KEY)
ALPHABET = string.ascii_letters + string.digits + "-_."


def test_a_genuine_code_reads_back_its_claims() -> None:
    assert read_code(CODE, KEY.verifier) == claims_of(REPORT)
    # Copied from print with line breaks and spaces, it is the same code.
    assert read_code(" \n".join(CODE[i : i + 60] for i in range(0, len(CODE), 60)), KEY.verifier)


@settings(max_examples=300, deadline=None)
@given(
    position=st.integers(min_value=0, max_value=len(CODE) - 1), character=st.sampled_from(ALPHABET)
)
def test_any_changed_character_is_refused(position: int, character: str) -> None:
    changed = CODE[:position] + character + CODE[position + 1 :]
    if changed == CODE:
        return
    try:
        claims = read_code(changed, KEY.verifier)
    except NotGenuine:
        return
    # base64url's last character carries spare bits: a change there may decode to the same
    # bytes, which is the same genuine code.
    assert claims == claims_of(REPORT)


@given(text=st.text(max_size=300))
def test_anything_else_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(NotGenuine):
        read_code(text, KEY.verifier)


def test_a_code_signed_by_another_key_is_refused() -> None:
    other = issue(REPORT, SigningKey.generate(KEY_NAME))
    with pytest.raises(NotGenuine, match="signature"):
        read_code(other, KEY.verifier)

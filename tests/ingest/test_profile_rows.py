"""Rows of the double-publicity layout made into records through the national profiles: units,
dates as Excel writes them, words mapped to codes, severity from the publicity period, and a
refusal that names the layout's column."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.ingest.profile import EXCEL_EPOCH, Layout, column_key, folded
from xinyong.ingest.rows import ValidRow
from xinyong.ingest.validate import RowValidator
from xinyong.ingest.values import RowInvalid
from xinyong.policy import Pack
from xinyong.policy.profiles import MappedColumn
from xinyong.testing import samples

TODAY = date(2026, 11, 1)
USCC = "行政相对人代码_1(统一社会信用代码)"
ORG_CODE = "行政相对人代码_3(组织机构代码)"
FINE = "罚款金额（万元）"
CONFISCATED = "没收违法所得、没收非法财物的金额（万元）"


def penalty(**cells: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "行政相对人名称": "北京示例科技有限公司",
        "行政相对人类别": "法人及非法人组织",
        USCC: samples.organisation(7),
        "行政处罚决定书文号": "京朝市监罚〔2025〕12号",
        "违法事实": "销售不合格产品",
        "处罚依据": "《中华人民共和国产品质量法》第五十条",
        "处罚类别": "罚款",
        FINE: "1.5",
        "处罚决定日期": "2025-03-10",
        "公示截止期": "2026-03-10",
        "处罚机关": "北京市朝阳区市场监督管理局",
    }
    row.update(cells)
    return folded({name: value for name, value in row.items() if value is not None})


@pytest.fixture
def layout(national: Pack) -> Layout:
    return Layout(national, national.profiles["double_publicity.penalty"])


def test_a_penalty_row_becomes_a_record_that_validates(national: Pack, layout: Layout) -> None:
    translated = layout.translate(penalty())
    assert translated.row == {
        "record_type": "admin.penalty",
        "subject_id": samples.organisation(7),
        "subject_name": "北京示例科技有限公司",
        "authority": "market.110105",
        "document_no": "京朝市监罚〔2025〕12号",
        "decided_on": "2025-03-10",
        "effective_on": "2025-03-10",
        "amount": "15000",
        "severity": "general",
        "fields": {
            "penalty_kind": "fine",
            "violation": "销售不合格产品",
            "basis": "《中华人民共和国产品质量法》第五十条",
        },
    }
    checked = RowValidator(national, TODAY).validate(1, translated.row, "")
    assert isinstance(checked, ValidRow)
    assert checked.amount == Decimal("15000.00") and checked.severity == "general"


@given(
    fine=st.decimals(min_value=0, max_value=10_000, places=6),
    confiscated=st.decimals(min_value=0, max_value=10_000, places=6),
)
def test_ten_thousand_yuan_become_yuan_exactly_and_both_amounts_add_up(
    national: Pack, fine: Decimal, confiscated: Decimal
) -> None:
    layout = Layout(national, national.profiles["double_publicity.penalty"])
    row = penalty(**{FINE: str(fine), CONFISCATED: str(confiscated)})
    assert Decimal(layout.translate(row).row["amount"]) == (fine + confiscated) * 10_000


@given(day=st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 1, 1)))
def test_a_day_reads_the_same_as_an_excel_serial_a_datetime_or_any_text_format(
    national: Pack, day: date
) -> None:
    layout = Layout(national, national.profiles["double_publicity.penalty"])
    end = (day + timedelta(days=30)).isoformat()
    serial = (day - EXCEL_EPOCH).days
    for written in (
        serial,
        float(serial),
        datetime(day.year, day.month, day.day),
        day,
        day.isoformat(),
        day.strftime("%Y/%m/%d"),
        day.strftime("%Y%m%d"),
        f"{day.year}年{day.month:02d}月{day.day:02d}日",
    ):
        row = layout.translate(penalty(处罚决定日期=written, 公示截止期=end)).row
        assert row["decided_on"] == day.isoformat(), written


def _strptime_day(text: str, formats: tuple[str, ...]) -> date | None:
    """The reading the cached one must match: each format in turn, by ``strptime``."""
    for pattern in formats:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


@given(
    text=st.one_of(
        st.dates(date(1900, 1, 1), date(2030, 12, 31)).map(lambda day: day.strftime("%Y/%m/%d")),
        st.dates(date(1900, 1, 1), date(2030, 12, 31)).map(lambda day: day.strftime("%Y%m%d")),
        st.text(alphabet="0123456789-/年月日 ", max_size=12),
        st.text(max_size=40),
        st.integers(0, 40).map(lambda pad: "2025-03-10" + " " * pad),
    )
)
def test_a_date_cell_reads_as_strptime_reads_it_again_and_again(national: Pack, text: str) -> None:
    """Dates are read through a cache (short texts) or directly (long ones): either way, the
    first and any later reading are what ``strptime`` gives over the profile's formats, and a
    text no format reads refuses the row naming the column."""
    layout = Layout(national, national.profiles["double_publicity.penalty"])
    formats = layout.profile.date_formats
    stripped = text.strip()
    expected = _strptime_day(stripped, formats) if stripped else None
    end = ((expected or date(2025, 3, 10)) + timedelta(days=30)).isoformat()
    for _ in range(2):
        try:
            read = layout.translate(penalty(处罚决定日期=text, 公示截止期=end)).row
        except RowInvalid as refused:
            assert (expected, refused.field) == (None, "处罚决定日期")
        else:
            assert expected is not None and read["decided_on"] == expected.isoformat()


@pytest.mark.parametrize(
    ("end", "grade"),
    [
        ("2025-03-10", "minor"),
        ("2025-06-10", "minor"),
        ("2025-06-11", "general"),
        ("2026-03-10", "general"),
        ("2026-03-11", "serious"),
        ("2028-03-10", "serious"),
    ],
)
def test_severity_is_the_grade_whose_publicity_period_holds_the_months_published(
    layout: Layout, end: str, grade: str
) -> None:
    assert layout.translate(penalty(公示截止期=end)).row["severity"] == grade


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        ({"公示截止期": "2028-03-11"}, "公示截止期", "longer than any grade"),
        ({"公示截止期": "2025-03-09"}, "公示截止期", "before the decision"),
        ({"公示截止期": None}, "公示截止期", "it decides the severity"),
        ({"处罚类别": "训诫"}, "处罚类别", "'训诫' is not one of 警告"),
        ({"违法事实": None}, "违法事实", "违法事实 is required"),
        ({"处罚决定日期": "2025.03.10"}, "处罚决定日期", "is not a date"),
        ({"处罚决定日期": 3.5}, "处罚决定日期", "not a day's number"),
        ({FINE: "一万"}, FINE, "'一万' is not a number"),
        ({FINE: "NaN"}, FINE, "is not a number"),
        ({"处罚机关": "某某局"}, "处罚机关", "no authority of the pack is named '某某局'"),
        ({USCC: None}, USCC, "no code identifies the subject"),
    ],
)
def test_what_the_profile_cannot_read_refuses_the_row_naming_the_column(
    layout: Layout, cells: dict[str, Any], column: str, reason: str
) -> None:
    with pytest.raises(RowInvalid) as refused:
        layout.translate(penalty(**cells))
    assert refused.value.field == column
    assert reason in refused.value.reason


def test_a_person_is_found_by_the_id_card_column_only_when_its_type_says_so(
    layout: Layout,
) -> None:
    person = samples.person(3)
    row = penalty(**{USCC: None, "证件类型": "身份证", "证件号码": person})
    translated = layout.translate(row)
    assert translated.row["subject_id"] == person and translated.subject_column == "证件号码"
    with pytest.raises(RowInvalid, match="no code identifies the subject"):
        layout.translate(penalty(**{USCC: None, "证件类型": "护照", "证件号码": "E1234567"}))


def test_a_row_with_only_an_organisation_code_carries_it_as_a_legacy_code(
    layout: Layout,
) -> None:
    translated = layout.translate(penalty(**{USCC: None, ORG_CODE: "MA0000007"}))
    assert translated.legacy is not None
    assert (translated.legacy.code, translated.legacy.column) == ("MA0000007", ORG_CODE)


def test_a_validation_refusal_is_named_by_the_column_that_fed_the_field(
    national: Pack, layout: Layout
) -> None:
    translated = layout.translate(penalty(**{USCC: samples.organisation(7)[:-2]}))
    checked = RowValidator(national, TODAY).validate(1, translated.row, "")
    assert not isinstance(checked, ValidRow)
    assert layout.column_of(translated, checked.field) == USCC
    late = layout.translate(penalty(处罚决定日期="2027-01-01", 公示截止期="2027-06-01"))
    checked = RowValidator(national, TODAY).validate(1, late.row, "")
    assert not isinstance(checked, ValidRow)
    assert layout.column_of(late, checked.field) == "处罚决定日期"


def test_headers_match_whatever_width_of_brackets_and_spaces_the_office_typed() -> None:
    assert column_key(" 罚款金额(万元) ") == column_key("罚款金额（万元）")
    assert column_key("行政相对人代码_1（统一社会信用代码）") == column_key(USCC)


CELLS = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(["1e999999", "1e-999999", "-0", "inf", "NaN", "9" * 40, "2025-02-30", "罚款"]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(),
)


@given(
    cells=st.dictionaries(
        st.sampled_from(
            [
                "行政相对人名称",
                USCC,
                ORG_CODE,
                "证件类型",
                "证件号码",
                "处罚类别",
                FINE,
                CONFISCATED,
                "处罚决定日期",
                "公示截止期",
                "处罚机关",
                "违法事实",
                "行政处罚决定书文号",
            ]
        ),
        CELLS,
    )
)
def test_whatever_a_cell_holds_a_row_is_translated_or_refused_naming_a_column(
    national: Pack, cells: dict[str, Any]
) -> None:
    layout = Layout(national, national.profiles["double_publicity.penalty"])
    try:
        translated = layout.translate(penalty(**cells))
    except RowInvalid as invalid:
        assert invalid.field in cells or invalid.field in {
            USCC,
            "违法事实",
            "公示截止期",
            "处罚决定日期",
        }
        return
    amount = translated.row.get("amount")
    assert amount is None or len(amount) < 40
    checked = RowValidator(national, TODAY).validate(1, translated.row, "")
    if not isinstance(checked, ValidRow):
        assert layout.column_of(translated, checked.field) is not None


# The Administrative Penalty Law (2021) Art. 9 lists the kinds from the lightest; detention,
# which takes a person's liberty, is the gravest.
GRAVEST_FIRST = ["detention", "closure", "licence_revocation", "suspension", "confiscation"]
GRAVEST_FIRST += ["fine", "warning"]
KIND_WORDS = {
    "警告": "warning",
    "通报批评": "warning",
    "罚款": "fine",
    "没收违法所得": "confiscation",
    "没收非法财物": "confiscation",
    "暂扣许可证件": "suspension",
    "吊销许可证件": "licence_revocation",
    "暂扣或者吊销执照": "licence_revocation",
    "责令停产停业": "closure",
    "责令关闭": "closure",
    "行政拘留": "detention",
}


@given(
    words=st.lists(st.sampled_from(sorted(KIND_WORDS)), min_size=1, max_size=5),
    separators=st.lists(st.sampled_from([";", "；", "、", ",", "，"]), min_size=5, max_size=5),
    spaces=st.sampled_from(["", " ", "　"]),
)
def test_a_decision_of_several_kinds_keeps_the_gravest_as_its_kind_and_the_rest_beside_it(
    national: Pack, words: list[str], separators: list[str], spaces: str
) -> None:
    layout = Layout(national, national.profiles["double_publicity.penalty"])
    cell = words[0] + "".join(
        f"{spaces}{separator}{spaces}{word}"
        for separator, word in zip(separators, words[1:], strict=False)
    )
    translated = layout.translate(penalty(处罚类别=cell))
    kinds = sorted({KIND_WORDS[word] for word in words}, key=GRAVEST_FIRST.index)
    fields = translated.row["fields"]
    assert fields["penalty_kind"] == kinds[0]
    assert fields.get("other_penalty_kinds") == (kinds[1:] or None)
    checked = RowValidator(national, TODAY).validate(1, translated.row, "")
    assert isinstance(checked, ValidRow)
    assert checked.fields["penalty_kind"] == kinds[0]


@pytest.mark.parametrize("cell", ["罚款;训诫", "警告、、训诫", "；", " ， "])
def test_an_unknown_word_among_several_refuses_the_row_naming_the_column(
    layout: Layout, cell: str
) -> None:
    with pytest.raises(RowInvalid) as refused:
        layout.translate(penalty(处罚类别=cell))
    assert refused.value.field == "处罚类别"
    assert ("'训诫' is not one of" if "训诫" in cell else "names no word") in refused.value.reason


@pytest.mark.parametrize("cell", ["罚款，", "罚款；", " 罚款、 "])
def test_a_trailing_separator_names_nothing_more(layout: Layout, cell: str) -> None:
    fields = layout.translate(penalty(处罚类别=cell)).row["fields"]
    assert fields["penalty_kind"] == "fine" and "other_penalty_kinds" not in fields


def test_a_profile_that_leaves_a_code_unranked_is_refused() -> None:
    with pytest.raises(ValueError, match="leaves out fine"):
        MappedColumn.model_validate(
            {
                "column": "处罚类别",
                "values": {"警告": "warning", "罚款": "fine"},
                "several": {"ranked": ["warning"], "rest": "other_penalty_kinds"},
            }
        )

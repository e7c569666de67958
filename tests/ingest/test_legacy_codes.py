"""Rows that name their subject only by a registration number or an organisation code are
linked to the one subject those codes belong to, the link kept with the record and shown in
the subject's file; no match, or several, quarantines the row with the reason."""

import csv
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.identifiers import uscc
from xinyong.ingest.models import QuarantinedRow
from xinyong.ingest.service import IngestJob, IngestSummary, scan_file
from xinyong.policy import Pack
from xinyong.records.models import Record, Subject
from xinyong.subjects.service import subject_file
from xinyong.testing import samples

TODAY = date(2026, 11, 1)
REGISTRATION_NO = "110105000012345"
REG_COLUMN = "行政相对人代码_2(工商注册号)"
ORG_COLUMN = "行政相对人代码_3(组织机构代码)"
COLUMNS = (
    "行政相对人名称",
    "行政相对人代码_1(统一社会信用代码)",
    REG_COLUMN,
    ORG_COLUMN,
    "行政处罚决定书文号",
    "违法事实",
    "处罚类别",
    "处罚决定日期",
    "公示截止期",
    "处罚机关",
)
KNOWN = samples.organisation(5)
# One organisation code under two registration offices: two subjects embed it.
TWINS = (uscc.make("9", "1", "110105", "00000077"), uscc.make("9", "1", "110108", "00000077"))


def ingest(factory: sessionmaker[Session], pack: Pack, path: Path, **job: Any) -> IngestSummary:
    digest, _ = scan_file(path)
    return IngestJob(factory, pack, today=TODAY, **job).run_file(
        path, digest=digest, report_dir=path.parent
    )


def registrations(tmp_path: Path) -> Path:
    rows = [
        samples.registration(KNOWN, samples.person(1), 1),
        samples.registration(TWINS[0], samples.person(2), 2),
        samples.registration(
            TWINS[1],
            samples.person(3),
            3,
            authority="market.110108",
            subject_name="北京双生有限公司",
        ),
    ]
    rows[0]["fields"]["registration_no"] = REGISTRATION_NO
    path = tmp_path / "registrations.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    return path


def penalty_rows(first: int, codes: list[dict[str, str]]) -> list[list[str]]:
    """Penalties in the double-publicity layout, numbered from ``first``, one per subject code."""
    rows = []
    for number, code in enumerate(codes, start=first):
        row = {
            "行政相对人名称": "北京示例科技有限公司",
            "行政处罚决定书文号": f"京朝市监罚〔2025〕{number}号",
            "违法事实": "销售不合格产品",
            "处罚类别": "警告",
            "处罚决定日期": "2025-03-10",
            "公示截止期": "2025-06-10",
            "处罚机关": "北京市朝阳区市场监督管理局",
            **code,
        }
        rows.append([row.get(column, "") for column in COLUMNS])
    return rows


def penalties(tmp_path: Path, codes: list[dict[str, str]]) -> Path:
    path = tmp_path / "penalties.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([COLUMNS, *penalty_rows(1, codes)])
    return path


def test_legacy_codes_link_to_the_one_subject_they_name_and_refuse_otherwise(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    assert ingest(factory, national, registrations(tmp_path)).accepted == 3
    path = penalties(
        tmp_path,
        [
            {ORG_COLUMN: KNOWN[8:17]},
            {REG_COLUMN: REGISTRATION_NO},
            {ORG_COLUMN: f"{KNOWN[8:16]}-{KNOWN[16]}".lower()},  # as printed on old certificates
            {ORG_COLUMN: "MA0000093"},
            {ORG_COLUMN: TWINS[0][8:17]},
            {REG_COLUMN: "110105000099999"},
        ],
    )
    summary = ingest(factory, national, path, profile="double_publicity.penalty")
    assert (summary.accepted, summary.rejected) == (3, 3) and summary.accounted
    with factory() as session:
        refusals = session.execute(
            select(QuarantinedRow.row_no, QuarantinedRow.field, QuarantinedRow.reason)
            .where(QuarantinedRow.row_no > 0)
            .order_by(QuarantinedRow.row_no)
        ).all()
        subjects = set(
            session.scalars(
                select(Subject.identifier)
                .join(Record, Record.subject_id == Subject.id)
                .where(Record.record_type == "admin.penalty")
            )
        )
        file = subject_file(session, KNOWN, national)
    assert subjects == {KNOWN}
    assert [(row, field) for row, field, _ in refusals] == [
        (4, ORG_COLUMN),
        (5, ORG_COLUMN),
        (6, REG_COLUMN),
    ]
    assert "no subject known to the platform has the organisation code MA0000093" in refusals[0][2]
    assert f"matches 2 subjects ({TWINS[0]}, {TWINS[1]})" in refusals[1][2]
    assert "registration number 110105000099999" in refusals[2][2]
    links = {
        document["document_no"]: document["versions"][0]["provenance"]["linked_by"]
        for document in file["records"]
    }
    assert links["京朝市监罚〔2025〕1号"] == {
        "by": "organisation_code",
        "code": KNOWN[8:17],
        "column": ORG_COLUMN,
    }
    assert links["京朝市监罚〔2025〕2号"] == {
        "by": "registration_number",
        "code": REGISTRATION_NO,
        "column": REG_COLUMN,
    }
    assert links["京朝市监登〔2020〕1号"] is None


def test_a_row_with_the_uscc_is_not_linked_even_when_it_also_has_old_codes(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    ingest(factory, national, registrations(tmp_path))
    path = penalties(
        tmp_path,
        [{"行政相对人代码_1(统一社会信用代码)": TWINS[1], ORG_COLUMN: TWINS[0][8:17]}],
    )
    summary = ingest(factory, national, path, profile="double_publicity.penalty")
    assert summary.rejected == 1  # Chaoyang may not penalise an organisation of Haidian
    with factory() as session:
        [(field, reason)] = session.execute(
            select(QuarantinedRow.field, QuarantinedRow.reason).where(QuarantinedRow.row_no == 1)
        ).all()
    assert field == "处罚机关" and TWINS[1] in reason

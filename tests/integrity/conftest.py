"""A small town in a store: every kind of derived state, reached through ingest and expiry."""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.enforcement.conftest import Ingest, decide, ingest  # noqa: F401  (fixtures)

from xinyong.enforcement.models import EntryRow
from xinyong.integrity import DerivedReport, Difference, verify_derived
from xinyong.policy import Pack
from xinyong.records.models import RecordHead
from xinyong.rights.expiry import expire
from xinyong.search.publish import refresh_search_index
from xinyong.testing import samples

BUILT_ON = date(2026, 11, 1)
COMPANY_NAME = "北京示例科技有限公司"


@dataclass(frozen=True)
class Town:
    defaulter: str
    """A person on the court's defaulter list: denied flights."""
    performer: str
    """A person whose listing ended when the obligation was performed."""
    company: str
    """A company on the defaulter list, registered with ``first_representative`` and then
    ``representative``."""
    first_representative: str
    representative: str
    """Bound by the company's listing while representing it."""
    taxpayer: str
    """A company whose A-grade rating was corrected to B: its red-list entry ended."""
    withdrawn: str
    """A person whose listing was withdrawn."""
    expired: str
    """A person whose tax violation expired."""
    search_root: Path


def tax_rating(company: str, grade: str, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "record_type": "tax.credit_rating",
        "subject_id": company,
        "subject_name": "北京纳税示例有限公司",
        "authority": "tax.110000",
        "document_no": "京税信〔2026〕1号",
        "decided_on": "2026-04-01",
        "effective_on": "2026-04-01",
        "fields": {"year": 2025, "grade": grade, "score": 95 if grade == "A" else 80},
    }
    row.update(overrides)
    return row


def performed(subject: str, number: int, on: str) -> dict[str, object]:
    return {
        "record_type": "court.obligation_performed",
        "subject_id": subject,
        "subject_name": "张三",
        "authority": "court.110105",
        "document_no": f"(2024)京0105执{number}号之一",
        "decided_on": on,
        "effective_on": on,
        "fields": {"case_no": f"(2024)京0105执{number}号", "how": "performed"},
    }


@pytest.fixture
def town(
    factory: sessionmaker[Session],
    national: Pack,
    ingest: Ingest,  # noqa: F811
    tmp_path: Path,
) -> Town:
    town = Town(
        defaulter=samples.person(1),
        performer=samples.person(2),
        company=samples.organisation(1),
        first_representative=samples.person(3),
        representative=samples.person(4),
        taxpayer=samples.organisation(2),
        withdrawn=samples.person(5),
        expired=samples.person(6),
        search_root=tmp_path / "search",
    )
    listing_on = "2026-03-05"
    recent = {"decided_on": "2026-03-01", "effective_on": listing_on}
    ingest(
        samples.defaulter_listing(town.defaulter, 1, **recent),
        samples.defaulter_listing(town.performer, 2, **recent),
        samples.registration(town.company, town.first_representative, 3),
        samples.registration(
            town.taxpayer,
            samples.person(7),
            4,
            subject_name="北京纳税示例有限公司",
            fields={
                "name": "北京纳税示例有限公司",
                "org_type": "enterprise",
                "legal_representative_id": samples.person(7),
            },
        ),
        samples.defaulter_listing(town.withdrawn, 5, **recent),
        {
            "record_type": "tax.serious_violation",
            "subject_id": town.expired,
            "subject_name": "赵六",
            "authority": "tax.110000",
            "document_no": "京税稽罚〔2020〕6号",
            "decided_on": "2020-01-10",
            "effective_on": "2020-01-10",
            "severity": "serious",
            "amount": 500000,
            "fields": {"violation": "tax evasion"},
        },
    )
    ingest(
        samples.defaulter_listing(town.company, 8, subject_name=COMPANY_NAME, **recent),
        {
            "record_type": "market.registration_change",
            "subject_id": town.company,
            "subject_name": COMPANY_NAME,
            "authority": "market.110105",
            "document_no": "京朝市监变〔2026〕9号",
            "decided_on": "2026-04-01",
            "effective_on": "2026-04-01",
            "fields": {"legal_representative_id": town.representative},
        },
        performed(town.performer, 2, "2026-06-01"),
        tax_rating(town.taxpayer, "A"),
    )
    ingest(
        tax_rating(town.taxpayer, "B", op="correct"),
        {**samples.defaulter_listing(town.withdrawn, 5, **recent), "op": "withdraw"},
    )
    expire(factory, national, BUILT_ON)
    refresh_search_index(factory, national, town.search_root, BUILT_ON)
    with factory() as session:
        reasons = set(session.scalars(select(EntryRow.end_reason)))
        statuses = set(session.scalars(select(RecordHead.status)))
    # The town holds every way an entry ends and a head changes, or its tests prove less.
    assert reasons == {"period", "removed", "withdrawn", "corrected"}, reasons
    assert statuses == {"active", "withdrawn", "expired"}, statuses
    return town


def verify(session: Session, pack: Pack, town: Town | None = None) -> DerivedReport:
    return verify_derived(session, pack, search_root=None if town is None else town.search_root)


def origin(report: DerivedReport, area: str, subject: str, what: str) -> Difference:
    """The one difference of ``area`` about ``subject``'s ``what`` where it starts."""
    found = [
        item
        for item in report.differences
        if (item.area, item.subject, item.what, item.follows) == (area, subject, what, None)
    ]
    assert len(found) == 1, [item.describe() for item in report.differences]
    return found[0]

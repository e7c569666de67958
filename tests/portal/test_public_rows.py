"""What the commitment publicity and a published list read from the store, on SQLite and
PostgreSQL: organisations' public commitments only, and a published list's organisations
without the shared records behind them."""

from datetime import date
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import Session, sessionmaker

from xinyong.enforcement.refresh import rebuild_all
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import Pack
from xinyong.portal.listing import Filters, commitment_types, decision_page, listed_page
from xinyong.portal.public_file import public_file
from xinyong.testing.samples import organisation, person, registration

DAY = date(2026, 11, 1)
A_GRADE = "tax.a_grade_taxpayers"


def _ingest(factory: sessionmaker[Session], pack: Pack, path: Path, *rows: dict[str, Any]) -> None:
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    digest, _ = scan_file(path)
    job = IngestJob(factory, pack, today=DAY, batch_size=50)
    assert job.run_file(path, digest=digest, report_dir=path.parent / "reports").rejected == 0


def _commitment(subject: str, number: int, name: str, **overrides: Any) -> dict[str, Any]:
    return {
        "record_type": "commitment.made",
        "subject_id": subject,
        "subject_name": name,
        "authority": "market.110105",
        "document_no": f"京朝市监诺〔2026〕{number}号",
        "decided_on": "2026-06-01",
        "effective_on": "2026-06-01",
        "fields": {"subject_matter": f"证明事项告知承诺{number}"},
        **overrides,
    }


def _rating(subject: str, number: int, grade: str) -> dict[str, Any]:
    return {
        "record_type": "tax.credit_rating",
        "subject_id": subject,
        "subject_name": f"北京纳税{number}有限公司",
        "authority": "tax.110105",
        "document_no": f"京朝税信评〔2026〕{number}号",
        "decided_on": "2026-04-10",
        "effective_on": "2026-04-10",
        "fields": {"year": 2025, "grade": grade, "score": 95 if grade == "A" else 50},
    }


def test_the_commitment_publicity_holds_organisations_public_commitments(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    kept = _commitment(organisation(1), 1, "北京守诺科技有限公司")
    revoked = _commitment(organisation(2), 2, "北京撤回科技有限公司")
    old = _commitment(organisation(3), 3, "北京旧诺科技有限公司", decided_on="2022-01-01")
    private = _commitment(person(1), 4, "王五")
    _ingest(factory, national, tmp_path / "first.jsonl", kept, revoked, old, private)
    _ingest(factory, national, tmp_path / "second.jsonl", {**revoked, "op": "withdraw"})

    with factory() as session:
        types = commitment_types(national)
        rows = decision_page(session, national, DAY, types, Filters(), 1).rows
        by_number = decision_page(
            session, national, DAY, types, Filters(name="〔2026〕1号"), 1
        ).rows
        penalties_only = decision_page(session, national, DAY, ["admin.penalty"], Filters(), 1).rows
    # The person is never in it, the withdrawn commitment is gone, and one made in 2022 is
    # past its 36 months of publicity.
    assert [row["subject"]["name"] for row in rows] == ["北京守诺科技有限公司"]
    assert rows[0]["subject_matter"] == "证明事项告知承诺1"
    assert rows[0]["subject"]["id"] == organisation(1)
    assert [row["document_no"] for row in by_number] == ["京朝市监诺〔2026〕1号"]
    assert penalties_only == []


def test_a_published_list_shows_its_organisations_but_not_the_shared_ratings(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    rated_a, rated_c = organisation(11), organisation(12)
    _ingest(
        factory,
        national,
        tmp_path / "ratings.jsonl",
        registration(rated_a, person(5), 11),
        _rating(rated_a, 11, "A"),
        _rating(rated_c, 12, "C"),
    )
    rebuild_all(factory, national)

    with factory() as session:
        rows = listed_page(session, national, DAY, [A_GRADE], Filters(), 1).rows
        by_number = listed_page(session, national, DAY, [A_GRADE], Filters(name="税信评"), 1).rows
        by_name = listed_page(session, national, DAY, [A_GRADE], Filters(name="示例"), 1).rows
        file = public_file(session, national, rated_a, DAY)
    assert [row["subject"]["id"] for row in rows] == [rated_a]
    (entry,) = rows[0]["entries"]
    assert entry["list"] == A_GRADE and entry["started_on"] == "2026-04-10"
    assert entry["document_no"] == "" and entry["document_key"] is None
    assert by_number == [], "a hidden document number cannot be searched for"
    assert [row["subject"]["id"] for row in by_name] == [rated_a]
    assert file is not None
    assert [item["list"] for item in file["entries"]] == [A_GRADE]
    shown = orjson.dumps(file).decode()
    assert "京朝税信评" not in shown, "the rating itself stays shared"

"""Authority is jurisdiction: ingest refuses a row about a subject outside the authority's
reach, through the API, the CLI and the job, on SQLite and PostgreSQL, and a subject's name
and legal representative change only by a record of its registration authority."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from itertools import count
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from xinyong.app import create_app
from xinyong.cli import app
from xinyong.config import Settings, get_settings
from xinyong.enforcement.index import MeasuresIndex
from xinyong.identifiers import uscc
from xinyong.ingest.models import QuarantinedRow
from xinyong.ingest.service import IngestJob, IngestSummary, scan_file
from xinyong.keys.service import create_key
from xinyong.policy import Pack
from xinyong.records.models import LegalRepresentative, Subject
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.store import migrated_sqlite, migrated_store

Row = dict[str, Any]
_numbers = count(1)

CHAOYANG_FIRM = uscc.make("9", "1", "110105", "MA0000A1")  # registered by market.110105
HAIDIAN_FIRM = uscc.make("9", "1", "110108", "MA0000B2")  # registered by market.110108
CITY_FIRM = uscc.make("9", "1", "110000", "MA0000C3")  # registered by market.110000
SHANGHAI_FIRM = uscc.make("9", "1", "310115", "MA0000D4")  # Pudong, outside the city
CITY_ASSOCIATION = uscc.make("5", "1", "110000", "MA0000E5")  # registered by civil.110000
TONGZHOU_ASSOCIATION = uscc.make("5", "1", "110112", "MA0000F6")  # civil affairs of Tongzhou
CHAOYANG_PERSON = samples.person(11)  # identity number issued in Chaoyang


def registration(subject: str, authority: str, **fields: Any) -> Row:
    number = next(_numbers)
    civil = subject.startswith("5")
    row = samples.registration(subject, samples.person(1), number, authority=authority)
    row["document_no"] = f"登记〔2020〕{number}号"
    if civil:
        row["record_type"] = "civil.social_org_registration"
        row["fields"]["org_type"] = "social_organisation"
    row["fields"].update(fields)
    return row


def change(subject: str, authority: str, representative: str) -> Row:
    return {
        "record_type": "market.registration_change",
        "subject_id": subject,
        "subject_name": "北京示例科技有限公司",
        "authority": authority,
        "document_no": f"变更〔2024〕{next(_numbers)}号",
        "decided_on": "2024-07-01",
        "effective_on": "2024-07-01",
        "fields": {"legal_representative_id": representative, "legal_representative_name": "冒名"},
    }


def record(record_type: str, subject: str, authority: str, fields: Row, **extra: Any) -> Row:
    return {
        "record_type": record_type,
        "subject_id": subject,
        "subject_name": "某某",
        "authority": authority,
        "document_no": f"文书〔2025〕{next(_numbers)}号",
        "decided_on": "2025-03-01",
        "effective_on": "2025-03-01",
        "fields": fields,
        **extra,
    }


def penalty(subject: str, authority: str) -> Row:
    return record(
        "admin.penalty", subject, authority, {"violation": "无照经营"}, severity="general"
    )


def abnormal(subject: str, authority: str) -> Row:
    return record(
        "market.abnormal_operations",
        subject,
        authority,
        {"reason": "no_annual_report"},
        severity="general",
    )


def patent(subject: str, authority: str) -> Row:
    return record("ip.patent_grant", subject, authority, {"patent_no": f"ZL{next(_numbers)}"})


def judgment(subject: str, authority: str) -> Row:
    return record("court.judgment", subject, authority, {"case_no": f"(2025)京{next(_numbers)}号"})


# (rule, row, None if accepted or a fragment of the reason it is refused for)
CASES: list[tuple[str, Callable[[], Row], str | None]] = [
    (
        "registration_authority: the registering office registers",
        lambda: registration(CHAOYANG_FIRM, "market.110105"),
        None,
    ),
    (
        "registration_authority: another district's office does not",
        lambda: registration(CHAOYANG_FIRM, "market.110108"),
        f"market.110108 may not register {CHAOYANG_FIRM}: it is registered by market "
        "regulation of 110105",
    ),
    (
        "registration_authority: the city bureau registers what it registered",
        lambda: registration(CITY_FIRM, "market.110000"),
        None,
    ),
    (
        "registration_authority: the city bureau does not take over a district's firm",
        lambda: change(HAIDIAN_FIRM, "market.110000", samples.person(2)),
        f"market.110000 may not change the registration of {HAIDIAN_FIRM}",
    ),
    (
        "registration_authority: civil affairs registers its associations",
        lambda: registration(CITY_ASSOCIATION, "civil.110000"),
        None,
    ),
    (
        "registration_authority: not another civil affairs office's",
        lambda: registration(TONGZHOU_ASSOCIATION, "civil.110000"),
        "it is registered by civil affairs of 110112",
    ),
    (
        "registration_authority: market regulation never changes an association",
        lambda: change(TONGZHOU_ASSOCIATION, "market.110105", samples.person(2)),
        f"market.110105 may not change the registration of {TONGZHOU_ASSOCIATION}: it is "
        "registered by civil affairs of 110112",
    ),
    (
        "registration_authority: the registering office keeps the abnormal operations list",
        lambda: abnormal(HAIDIAN_FIRM, "market.110108"),
        None,
    ),
    (
        "registration_authority: another office does not",
        lambda: abnormal(HAIDIAN_FIRM, "market.110105"),
        f"market.110105 may not submit market.abnormal_operations about {HAIDIAN_FIRM}",
    ),
    (
        "subject_region: a district office penalises a firm of its district",
        lambda: penalty(HAIDIAN_FIRM, "market.110108"),
        None,
    ),
    (
        "subject_region: not a firm of another district",
        lambda: penalty(CHAOYANG_FIRM, "market.110108"),
        "it is registered in 110105, outside the area 110108 that market.110108 covers",
    ),
    (
        "subject_region: the city bureau covers every district",
        lambda: penalty(CHAOYANG_FIRM, "market.110000"),
        None,
    ),
    (
        "subject_region: not another province",
        lambda: penalty(SHANGHAI_FIRM, "market.110000"),
        "outside the area 11xxxx that market.110000 covers",
    ),
    (
        "subject_region: a national body covers the country",
        lambda: patent(SHANGHAI_FIRM, "ip.cnipa"),
        None,
    ),
    (
        "subject_region: the city office does not",
        lambda: patent(SHANGHAI_FIRM, "ip.110000"),
        "it is registered in 310115",
    ),
    (
        "anywhere: a person, whatever the office's district",
        lambda: penalty(CHAOYANG_PERSON, "market.110108"),
        None,
    ),
    (
        "anywhere: a court judges a firm of any province",
        lambda: judgment(SHANGHAI_FIRM, "court.110108"),
        None,
    ),
    (
        "anywhere is bounded by the catalogue: an office is no court",
        lambda: judgment(SHANGHAI_FIRM, "market.110108"),
        "may not submit 'court.judgment'",
    ),
]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    url = migrated_sqlite(tmp_path / "api.db")
    with TestClient(create_app(Settings(database_url=url, var_dir=tmp_path))) as client:
        yield client


def key(client: TestClient, authority: str) -> dict[str, str]:
    factory = make_sessionmaker(make_engine(str(client.app.state.engine.url)))  # type: ignore[attr-defined]
    with factory.begin() as session:
        token = create_key(session, role="authority", authority=authority, label="test")
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("rule", "make", "refused"), CASES, ids=[case[0] for case in CASES])
def test_the_api_applies_each_rule(
    client: TestClient, rule: str, make: Callable[[], Row], refused: str | None
) -> None:
    row = make()
    headers = key(client, row.pop("authority"))  # the key says who submits
    body = client.post("/v1/submissions", json=[row], headers=headers).json()
    [outcome] = body["rows"]
    if refused is None:
        assert outcome["status"] == "accepted", outcome
    else:
        assert (outcome["status"], outcome["field"]) == ("rejected", "authority")
        assert refused in outcome["reason"]


def test_two_districts_keys_reach_only_their_own_firms(client: TestClient) -> None:
    """One batch per district office, each naming both districts' firms."""
    for office, own, other in (
        ("market.110105", CHAOYANG_FIRM, HAIDIAN_FIRM),
        ("market.110108", HAIDIAN_FIRM, CHAOYANG_FIRM),
    ):
        rows = [penalty(own, office), penalty(other, office), registration(other, office)]
        for row in rows:
            del row["authority"]
        body = client.post("/v1/submissions", json=rows, headers=key(client, office)).json()
        assert [r["status"] for r in body["rows"]] == ["accepted", "rejected", "rejected"]
        assert all(other in r["reason"] for r in body["rows"][1:])


def test_the_same_bytes_from_another_district_are_judged_afresh(client: TestClient) -> None:
    """The quarantine is one source's decision: a row one office may not submit, refused to it,
    is still the registering office's to submit in the very same bytes."""
    row = penalty(CHAOYANG_FIRM, "market.110105")
    del row["authority"]
    body = orjson.dumps([row])
    headers = {"Content-Type": "application/json"}
    refused = client.post(
        "/v1/submissions", content=body, headers={**headers, **key(client, "market.110108")}
    ).json()
    accepted = client.post(
        "/v1/submissions", content=body, headers={**headers, **key(client, "market.110105")}
    ).json()
    assert [r["status"] for r in refused["rows"]] == ["rejected"]
    assert [r["status"] for r in accepted["rows"]] == ["accepted"]
    again = client.post(
        "/v1/submissions", content=body, headers={**headers, **key(client, "market.110108")}
    ).json()
    assert [r["status"] for r in again["rows"]] == ["rejected"]  # still that office's decision


def test_the_cli_applies_the_rules_of_its_authority(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("XINYONG_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    try:
        migrated_store()
        rows = [
            registration(HAIDIAN_FIRM, "market.110108"),
            penalty(HAIDIAN_FIRM, "market.110108"),
            penalty(CHAOYANG_PERSON, "market.110108"),
            change(CHAOYANG_FIRM, "market.110108", samples.person(2)),
            penalty(CHAOYANG_FIRM, "market.110108"),
        ]
        path = tmp_path / "market.110108.jsonl"
        path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
        result = CliRunner().invoke(
            app, ["ingest", str(path), "--authority", "market.110108", "--json"]
        )
        assert result.exit_code == 0, result.output
        [summary] = orjson.loads(result.stdout)
        assert (summary["accepted"], summary["rejected"]) == (3, 2)
        report = [
            orjson.loads(line)
            for line in Path(summary["rejection_report"]).read_bytes().splitlines()
        ]
        assert [(r["row"], r["field"]) for r in report] == [(4, "authority"), (5, "authority")]
        assert f"may not change the registration of {CHAOYANG_FIRM}" in report[0]["reason"]
        assert "outside the area 110108" in report[1]["reason"]
    finally:
        get_settings.cache_clear()


def ingest(factory: sessionmaker[Session], pack: Pack, tmp_path: Path, *rows: Row) -> IngestSummary:
    path = tmp_path / f"rows-{next(_numbers)}.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    digest, _ = scan_file(path)
    job = IngestJob(factory, pack, today=date(2026, 11, 1), batch_size=50)
    return job.run_file(path, digest=digest, report_dir=tmp_path / "reports")


def test_only_the_registering_office_changes_a_name_or_a_representative(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    """Issue 15, finding 2: market.110105 made an uninvolved person the legal representative of
    a civil-affairs organisation of another district, who at once could not buy air tickets
    through its court listing, and renamed a firm registered by market.110108. Neither
    reaches the store now; the real representative stays bound (法释〔2015〕17号 Art. 3)."""
    representative, stranger = samples.person(21), samples.person(22)
    association = registration(TONGZHOU_ASSOCIATION, "civil.110000")
    firm = registration(HAIDIAN_FIRM, "market.110108", name="北京海淀示例有限公司")
    firm["fields"]["legal_representative_id"] = representative
    listing = samples.defaulter_listing(
        HAIDIAN_FIRM, next(_numbers), authority="court.110108", subject_name="北京海淀示例有限公司"
    )
    setup = ingest(factory, national, tmp_path, firm, listing)
    assert (setup.accepted, setup.rejected) == (2, 0)

    rogue = [
        change(HAIDIAN_FIRM, "market.110105", stranger),
        registration(HAIDIAN_FIRM, "market.110105", name="冒名顶替有限公司"),
        association,  # civil affairs of the city: Tongzhou registers it
        change(TONGZHOU_ASSOCIATION, "market.110105", stranger),
    ]
    refused = ingest(factory, national, tmp_path, *rogue)
    assert (refused.accepted, refused.rejected) == (0, 4)

    with factory() as session:
        firm_subject = session.scalars(
            select(Subject).where(Subject.identifier == HAIDIAN_FIRM)
        ).one()
        assert firm_subject.name == "北京海淀示例有限公司"
        persons = session.scalars(
            select(Subject.identifier)
            .join(LegalRepresentative, LegalRepresentative.person_id == Subject.id)
            .where(LegalRepresentative.organisation_id == firm_subject.id)
        ).all()
        assert persons == [representative]
        assert (
            session.scalar(select(Subject.id).where(Subject.identifier == TONGZHOU_ASSOCIATION))
            is None
        )
        quarantined = session.execute(
            select(QuarantinedRow.authority, QuarantinedRow.field, QuarantinedRow.reason).order_by(
                QuarantinedRow.row_no
            )
        ).all()
        index = MeasuresIndex(national)
        index.load(session)
    assert [(a, f) for a, f, _ in quarantined] == [
        ("market.110105", "authority"),
        ("market.110105", "authority"),
        ("civil.110000", "authority"),
        ("market.110105", "authority"),
    ]
    assert quarantined[0][2] == (
        f"market.110105 may not change the registration of {HAIDIAN_FIRM}: it is registered "
        "by market regulation of 110108"
    )
    assert index.decide(representative, "buy_air_ticket", date(2025, 6, 1)).effect == "deny"
    assert index.decide(stranger, "buy_air_ticket", date(2025, 6, 1)).effect == "allow"

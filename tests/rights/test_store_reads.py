"""A subject's requests read what concerns the subject, not what the store holds.

Submissions, checks, the subject's file read by the subject and by staff, an objection and its
review, a repair's eligibility, application and grant, run through the application on a store
with records of several types: every statement they run on SQLite must reach the store's
tables by a key, never by reading a table or all the records of a type
(``xinyong.testing.plans``).
"""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from xinyong.app import create_app
from xinyong.clock import china_today
from xinyong.config import Settings
from xinyong.enforcement import api as checks_api
from xinyong.records.facts import add_months
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.plans import Plans, statement_plans
from xinyong.testing.store import migrated_sqlite

from .test_rights_api import Platform, days_ago, list_defaulter, wage_arrears

READ = {"X-Purpose": "objection review 2026-17"}


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    monkeypatch.setattr(checks_api, "POLL_SECONDS", 0.0)
    url = migrated_sqlite(tmp_path / "store.db")
    engine = make_engine(url)
    settings = Settings(database_url=url, var_dir=tmp_path / "var")
    with TestClient(create_app(settings)) as client:
        yield Platform(client, make_sessionmaker(engine), settings.var_dir)
    engine.dispose()


def plans_of_the_requests(platform: Platform) -> Plans:
    """The plans of what a listed person, a person in wage arrears, their reviewers and a
    relying party ask, beside other subjects' records of other types."""
    app_engine = platform.client.app.state.engine  # type: ignore[attr-defined]
    organisation, bystander = samples.organisation(1), samples.person(3)
    with statement_plans(app_engine) as plans:
        for row in (
            samples.registration(organisation, bystander, 1),
            samples.blood_donation(bystander, 1),
            samples.consumption_restriction(bystander, 1),
        ):
            platform.submit(row)
        listed, listing = list_defaulter(platform, 1)
        assert platform.check(listed, "buy_air_ticket") == "deny"
        assert platform.check(samples.person(4), "buy_air_ticket") == "allow"
        platform.submit(
            {
                "record_type": "court.obligation_performed",
                "subject_id": listed,
                "subject_name": "张三",
                "authority": "court.110105",
                "document_no": "(2024)京0105执1号之一",
                "decided_on": days_ago(2),
                "effective_on": days_ago(2),
                "fields": {"case_no": "(2024)京0105执1号", "how": "performed"},
            }
        )
        in_arrears = samples.person(9)
        decided_on = china_today() - timedelta(days=400)
        platform.submit(wage_arrears(in_arrears, 9, decided_on.isoformat()))
        arrears = "hrss.110000|hrss.wage_arrears|京人社欠薪〔2025〕9号"
        assert platform.check(in_arrears, "bid_public_procurement") == "deny"

        subject = platform.subject(listed)
        assert platform.client.get("/v1/me/file", headers=subject).status_code == 200
        reviewer = platform.person("reviewer")
        staff_read = platform.client.get(f"/v1/subjects/{listed}", headers={**reviewer, **READ})
        assert staff_read.status_code == 200, staff_read.text
        eligibility = platform.client.get(
            "/v1/me/repairs/eligibility", params={"record": listing}, headers=subject
        ).json()
        [performed] = [c for c in eligibility["conditions"] if c["code"] == "obligations_performed"]
        assert performed["met"] is True, performed
        case = platform.object(subject, record=listing).json()
        upheld = platform.client.post(
            f"/v1/reviews/{case['id']}/decision",
            json={"outcome": "upheld", "reasons": "The court revoked it.", "withdraw": True},
            headers=reviewer,
        )
        assert upheld.status_code == 200, upheld.text

        owes = platform.subject(in_arrears)
        platform.set_clock(add_months(decided_on, 12))
        applied = platform.apply_for_repair(owes, arrears)
        assert applied.status_code == 201, applied.text
        hrss = platform.person("authority", authority_code="hrss.110000")
        granted = platform.client.post(
            f"/v1/reviews/{applied.json()['id']}/decision",
            json={"outcome": "granted", "reasons": "Wages paid in full."},
            headers=hrss,
        )
        assert granted.status_code == 200, granted.text
        assert granted.json()["status"] == "granted"
        platform.check(in_arrears, "bid_public_procurement")
    return plans


def test_no_request_about_a_subject_reads_a_table_or_a_whole_record_type(
    platform: Platform,
) -> None:
    plans = plans_of_the_requests(platform)

    assert any("record_heads" in statement for statement in plans.steps)
    assert plans.whole_store_reads() == {}

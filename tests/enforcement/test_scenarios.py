"""Scenarios from the court rules, through ingest, the stored entries and the measures index,
on SQLite and on PostgreSQL."""

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.enforcement.conftest import Decide, Ingest

from xinyong.clock import china_today
from xinyong.enforcement.models import EntryRow
from xinyong.ledger.models import LedgerLeaf
from xinyong.testing import samples

D = date(2024, 3, 5)  # the effective date of samples.defaulter_listing
HIGH_CONSUMPTION = ("buy_air_ticket", "buy_high_speed_rail_ticket")


def performed(subject: str, number: int, on: str, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "record_type": "court.obligation_performed",
        "subject_id": subject,
        "subject_name": "张三",
        "authority": "court.110105",
        "document_no": f"(2024)京0105执{number}号之一",
        "decided_on": on,
        "effective_on": on,
        "fields": {"case_no": f"(2024)京0105执{number}号", "how": "performed"},
    }
    row.update(overrides)
    return row


def test_listed_person_is_denied_flights_and_trains_for_two_years(
    ingest: Ingest, decide: Decide
) -> None:
    """法释〔2017〕7号 Art. 2 (2 years) with 法释〔2015〕17号 Art. 3 and 发改财金〔2016〕141号:
    a defaulter listed on day D is denied flights and G-series trains on D and D+1 year, and
    allowed on D+2 years+1 day."""
    person = samples.person(1)
    ingest(samples.defaulter_listing(person, 1))
    for day in (D, D.replace(year=2025), D.replace(year=2026) - timedelta(days=1)):
        for action in HIGH_CONSUMPTION:
            decision = decide(person, action, day)
            assert decision.effect == "deny", (day, action)
            assert decision.entries[0]["list"] == "court.defaulters"
            assert decision.entries[0]["started_on"] == D
            assert decision.entries[0]["ends_on"] == date(2026, 3, 5)
            assert all(measure["legal_basis"] for measure in decision.measures)
            assert all(measure["implemented_by"]["zh"] for measure in decision.measures)
    assert decide(person, "buy_air_ticket", D - timedelta(days=1)).effect == "allow"
    after = decide(person, "buy_air_ticket", date(2026, 3, 6))
    assert (after.effect, after.measures, after.known) == ("allow", (), True)


def test_an_obligation_performed_record_ends_the_listing(ingest: Ingest, decide: Decide) -> None:
    """法释〔2017〕7号 Art. 10 (法释〔2013〕17号 Art. 7): the listing is deleted once the
    obligation is performed; the court records that as court.obligation_performed."""
    person = samples.person(2)
    ingest(samples.defaulter_listing(person, 2))
    ingest(performed(person, 2, "2024-09-01"))
    assert decide(person, "buy_air_ticket", date(2024, 8, 31)).effect == "deny"
    for action in HIGH_CONSUMPTION:
        assert decide(person, action, date(2024, 9, 1)).effect == "allow"


def test_performance_in_another_case_does_not_end_the_listing(
    ingest: Ingest, decide: Decide
) -> None:
    """法释〔2017〕7号 Art. 10: deletion follows performance of the obligation the listing is
    about; a performed obligation in another case leaves it in place."""
    person = samples.person(3)
    ingest(samples.defaulter_listing(person, 3), performed(person, 99, "2024-09-01"))
    assert decide(person, "buy_air_ticket", date(2024, 9, 2)).effect == "deny"


def test_an_extension_lengthens_the_listing(ingest: Ingest, decide: Decide) -> None:
    """法释〔2017〕7号 Art. 2: 2 years, extendable by 1 to 3 years for serious circumstances."""
    person = samples.person(4)
    listing = samples.defaulter_listing(person, 4)
    listing["fields"] = {**listing["fields"], "extension_months": 12}
    ingest(listing)
    assert decide(person, "buy_air_ticket", date(2026, 6, 1)).effect == "deny"
    assert decide(person, "buy_air_ticket", date(2027, 3, 5)).effect == "allow"


def test_legal_representative_is_bound_while_representing_a_listed_company(
    ingest: Ingest, decide: Decide
) -> None:
    """法释〔2015〕17号 Art. 3: where the defaulter is a unit, its legal representative may not
    pay for high consumption; the 2016 memorandum (发改财金〔2016〕141号) applies this to listed
    units. The bar holds while the person represents the unit and ends with the representation."""
    company, representative = samples.organisation(1), samples.person(5)
    ingest(samples.registration(company, representative, 1))
    ingest(samples.defaulter_listing(company, 5, subject_name="北京示例科技有限公司"))
    decision = decide(representative, "buy_air_ticket", date(2024, 6, 1))
    assert decision.effect == "deny"
    assert {measure["via"] for measure in decision.measures} == {company}
    assert decision.entries[0]["via"] == company
    # Key positions are the defaulter's own: they do not pass to the representative.
    assert decide(representative, "apply_public_employment", date(2024, 6, 1)).effect == "allow"

    successor = samples.person(6)
    ingest(
        {
            "record_type": "market.registration_change",
            "subject_id": company,
            "subject_name": "北京示例科技有限公司",
            "authority": "market.110105",
            "document_no": "京朝市监变〔2024〕7号",
            "decided_on": "2024-07-01",
            "effective_on": "2024-07-01",
            "fields": {"legal_representative_id": successor, "legal_representative_name": "赵六"},
        }
    )
    assert decide(representative, "buy_air_ticket", date(2024, 6, 30)).effect == "deny"
    assert decide(representative, "buy_air_ticket", date(2024, 7, 1)).effect == "allow"
    assert decide(successor, "buy_air_ticket", date(2024, 7, 1)).effect == "deny"


def test_a_withdrawn_listing_ends_every_measure_at_once(
    factory: sessionmaker[Session], ingest: Ingest, decide: Decide
) -> None:
    """Due process, and 上海市社会信用条例 Art. 37: a revoked decision ends all its
    consequences everywhere at once, from the day it is withdrawn."""
    today = china_today()
    listed_on = (today - timedelta(days=10)).isoformat()
    company, representative = samples.organisation(2), samples.person(7)
    ingest(samples.registration(company, representative, 2), today=today)
    listing = samples.defaulter_listing(
        company,
        7,
        subject_name="北京示例科技有限公司",
        decided_on=listed_on,
        effective_on=listed_on,
    )
    ingest(listing, today=today)
    assert decide(company, "bid_public_procurement", today).effect == "deny"
    assert decide(representative, "buy_air_ticket", today).effect == "deny"
    ingest({**listing, "op": "withdraw"}, today=today)
    for action in ("bid_public_procurement", "issue_bond", "buy_air_ticket", "apply_loan"):
        for subject in (company, representative):
            assert decide(subject, action, today).effect == "allow", (subject, action)
    with factory() as session:
        entry = session.scalars(select(EntryRow)).one()
        kinds = list(
            session.scalars(select(LedgerLeaf.kind).where(LedgerLeaf.kind.like("entry.%")))
        )
    assert (entry.end_reason, entry.ended_on) == ("withdrawn", today)
    assert kinds == ["entry.started", "entry.ended"]


def test_a_red_list_company_gets_an_expedited_licence(ingest: Ingest, decide: Decide) -> None:
    """纳税信用管理办法 and 发改财金〔2016〕1467号: A-grade taxpayers get a green channel for
    administrative licences (and fewer inspections, waived deposits)."""
    company = samples.organisation(3)
    ingest(samples.registration(company, samples.person(8), 3))
    ingest(
        {
            "record_type": "tax.credit_rating",
            "subject_id": company,
            "subject_name": "北京示例科技有限公司",
            "authority": "tax.110000",
            "document_no": "京税信〔2025〕3号",
            "decided_on": "2025-04-01",
            "effective_on": "2025-04-01",
            "fields": {"year": 2024, "grade": "A", "score": 95},
        }
    )
    decision = decide(company, "apply_administrative_licence", date(2025, 6, 1))
    assert (decision.effect, decision.benefits) == ("allow", ("expedite",))
    assert decision.entries[0]["kind"] == "red"
    assert decide(company, "undergo_routine_inspection", date(2025, 6, 1)).benefits == (
        "reduce_inspection",
    )
    assert decide(company, "apply_administrative_licence", date(2026, 4, 1)).benefits == ()


def test_a_record_past_its_maximum_period_grounds_nothing(ingest: Ingest, decide: Decide) -> None:
    """山东省社会信用条例 Art. 38: after the maximum period a record is no
    longer a basis for punishment. A tax violation (maximum 36 months from the decision)
    decided in 2020 grounds no measure in 2024."""
    person = samples.person(9)
    ingest(
        {
            "record_type": "tax.serious_violation",
            "subject_id": person,
            "subject_name": "张三",
            "authority": "tax.110000",
            "document_no": "京税稽罚〔2020〕9号",
            "decided_on": "2020-01-10",
            "effective_on": "2020-01-10",
            "severity": "serious",
            "amount": 500000,
            "fields": {"violation": "tax evasion"},
        }
    )
    assert decide(person, "buy_air_ticket", date(2020, 6, 1)).effect == "deny"
    # The travel ban lasts 1 year (发改财金〔2018〕385号); the listing 3 years.
    assert decide(person, "buy_air_ticket", date(2021, 1, 10)).effect == "allow"
    decision = decide(person, "buy_air_ticket", date(2024, 1, 10))
    assert (decision.effect, decision.entries) == ("allow", ())


def test_a_serious_violator_bars_its_representative_at_listing_for_three_years(
    ingest: Ingest, decide: Decide
) -> None:
    """企业信息公示暂行条例 Art. 17: an enterprise moved to the serious violation list bars its
    legal representative from that role in another company for 3 years, even after leaving."""
    company, representative = samples.organisation(4), samples.person(10)
    ingest(samples.registration(company, representative, 4))
    ingest(
        {
            "record_type": "market.serious_violation_listing",
            "subject_id": company,
            "subject_name": "北京示例科技有限公司",
            "authority": "market.110105",
            "document_no": "京朝市监严〔2024〕4号",
            "decided_on": "2024-03-01",
            "effective_on": "2024-03-01",
            "severity": "serious",
            "fields": {"reason": "on the abnormal operations list for 3 years"},
        },
        {
            "record_type": "market.registration_change",
            "subject_id": company,
            "subject_name": "北京示例科技有限公司",
            "authority": "market.110105",
            "document_no": "京朝市监变〔2024〕8号",
            "decided_on": "2024-05-01",
            "effective_on": "2024-05-01",
            "fields": {"legal_representative_id": samples.person(11)},
        },
    )
    decision = decide(representative, "serve_as_legal_representative", date(2025, 1, 1))
    assert decision.effect == "deny"
    assert decision.measures[0]["via"] == company
    assert decide(samples.person(11), "serve_as_legal_representative", date(2025, 1, 1)).effect == (
        "allow"
    )
    assert decide(representative, "serve_as_legal_representative", date(2027, 3, 1)).effect == (
        "allow"
    )


def test_an_unknown_subject_is_allowed_and_marked_unknown(decide: Decide) -> None:
    """The issue's check contract: an unknown subject is `allow` with `known: false`."""
    decision = decide(samples.person(12), "buy_air_ticket", date(2025, 1, 1))
    assert (decision.effect, decision.known, decision.measures) == ("allow", False, ())

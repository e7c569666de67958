"""The records of the city, streamed one subject at a time.

Each subject's life is drawn from its own random stream: which kinds of record it collects
(``conduct``), then the stories behind them: a judgment that goes unpaid becomes a defaulter
listing and a consumption restriction, and perhaps later an obligation performed; an
abnormal operations listing is removed or, three years on, escalated. After each submitted
record may come a correction or a withdrawal by the same authority, and now and then a
deliberately malformed row (``defects``). A person who borrows also has a credit history
(``credit``), drawn from a stream of its own.

Only document numbers depend on what came before (they count up per series), which is why
the stream runs in a fixed order: organisations by index, then people by index.
"""

import random
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from itertools import accumulate, pairwise
from typing import Any

from xinyong.policy import (
    REGISTERING_KINDS,
    AmountRule,
    Authority,
    AuthorityKind,
    AuthorityLevel,
    Category,
    Domain,
    Pack,
    Polarity,
    RecordType,
    SubjectKind,
)
from xinyong.synth.conduct import (
    ABNORMAL_ESCALATED,
    ABNORMAL_REMOVED,
    COMMITMENT_BREACHED,
    ESCALATION_REASON,
    FOLLOW_UP_GRADES,
    JUDGMENT_LEADS_TO_LISTING,
    LISTING_PERFORMED,
    LISTING_RESTRICTS_CONSUMPTION,
    OBLIGATIONS,
    ORGANISATION,
    ORGANISATION_CONDUCT,
    PERSON,
    PERSON_CONDUCT,
    QUALIFICATION_REVOKED,
    REPEAT_OFFENDER_FACTOR,
    REPEAT_OFFENDER_REPEATS,
    REPEAT_OFFENDER_SHARE,
    REVOCATION_REASONS,
    UNLISTED_RATE,
    AmountDraw,
    Conduct,
    Occasion,
    Subject,
    money,
    tax_grade,
)
from xinyong.synth.credit import RECORD_TYPES as CREDIT_RECORD_TYPES
from xinyong.synth.credit import CreditHistories
from xinyong.synth.days import add_years, uniform_day
from xinyong.synth.defects import DefectPlanter
from xinyong.synth.documents import DocumentNumbers
from xinyong.synth.fields import FieldMaker
from xinyong.synth.population import (
    ORGANISATION_FORMS,
    STREAM_ORGANISATION_CONDUCT,
    STREAM_PERSON_CONDUCT,
    Organisation,
    Population,
    entity_random,
    entity_unit,
    stream_key,
)

WINDOW_YEARS = 5
WITHDRAW_SHARE = 0.004
CORRECT_SHARE = 0.012
# Planted after about one good row in a hundred, so about 1% of all rows are malformed.
MALFORMED_SHARE = 0.0103
MAX_OCCURRENCES = 12

# Record types that only follow another record in a story, never on their own.
FOLLOW_UPS = frozenset(
    {
        "court.obligation_performed",
        "market.abnormal_operations_removal",
        "commitment.breach",
        "professional.qualification_revoked",
    }
)

Row = dict[str, Any]
ProgressCallback = Callable[[int, int], None]
"""Called with (subjects done, subjects in all) as the stream advances."""


@dataclass(frozen=True, slots=True)
class SynthRow:
    """A row for a submission file; ``defect`` names what was deliberately broken, if anything."""

    record: Row
    defect: str | None = None


@dataclass(frozen=True, slots=True)
class Registrar:
    authority: Authority
    registration: str  # record type that registers
    change: str | None  # record type that changes the register, if the authority may send one


@dataclass(slots=True)
class Life:
    """One subject's records as they are drawn."""

    rng: random.Random
    subject: Subject
    first_day: date  # no conduct before this day (adulthood, establishment, the window)
    since: date  # birth or establishment
    repeat_offender: bool
    rows: list[SynthRow] = field(default_factory=list)


def _place_weight(authority: Authority, subject: Subject, conduct: Conduct) -> float:
    """How likely this authority, rather than another of its kind, decides about the subject."""
    if authority.region == subject.district.code:
        return 5.0
    if authority.level is AuthorityLevel.NATIONAL:
        return conduct.national
    if authority.level is AuthorityLevel.DISTRICT:
        return 0.25  # another district's office
    if authority.kind is AuthorityKind.COURT:
        return 0.4  # the high court hears appeals, rarely first instance
    return 1.5


class ConductPlan:
    """A conduct as the pack allows it: its grades and the authorities that may report it."""

    def __init__(self, conduct: Conduct, record_type: RecordType, pack: Pack) -> None:
        self.conduct = conduct
        self.code = record_type.code
        self.negative = record_type.polarity is Polarity.NEGATIVE
        self.authorities = [
            pack.authorities[code]
            for code in sorted(pack.authorities)
            if pack.may_submit(code, self.code)
        ]
        self.jurisdiction = pack.jurisdiction
        self._choices: dict[tuple[str, ...], tuple[list[Authority], list[float]]] = {}

    def authority(self, rng: random.Random, subject: Subject) -> Authority | None:
        # Jurisdiction reads an organisation's registration department and region from its
        # code (characters 1 and 3-8), and nothing of a person's.
        code = subject.identifier
        reach = code[0] + code[2:8] if subject.kind == ORGANISATION else ""
        key = (reach, subject.district.code, str(subject.suspect))
        choice = self._choices.get(key)
        if choice is None:
            # A suspect code is accepted only from a registration authority.
            pool = [
                a
                for a in self.authorities
                if (a.registration_authority or not subject.suspect)
                and self.jurisdiction.refusal(a.code, self.code, subject.kind, code) is None
            ]
            kinds = self.conduct.authority_kinds
            weights = [
                (kinds.get(a.kind, 0.05) if kinds else 1.0)
                * _place_weight(a, subject, self.conduct)
                for a in pool
            ]
            choice = self._choices[key] = (pool, list(accumulate(weights)))
        pool, cumulative = choice
        return rng.choices(pool, cum_weights=cumulative)[0] if pool else None


class ConductOdds:
    """The conducts of one kind of subject, drawn in two steps: whether the subject has any at
    all, from one draw (for people a cheap one), then the rest only for those who do.

    With rates r_1..r_n drawn independently, the first conduct that happens is the one whose
    cumulative ``1 - (1-r_1)...(1-r_i)`` first exceeds a uniform draw below ``any``, and each
    later conduct then happens at its own rate: exactly the independent draws, conditioned
    on at least one.
    """

    def __init__(self, plans: list[ConductPlan], repeat_offender: bool) -> None:
        self.plans = plans
        self.rates: list[float] = []
        self.repeats: list[float] = []
        self.first: list[float] = []
        none_yet = 1.0
        for plan in plans:
            rate, more = plan.conduct.rate, plan.conduct.repeats
            if repeat_offender and plan.negative:
                rate = min(0.9, rate * REPEAT_OFFENDER_FACTOR)
                more += REPEAT_OFFENDER_REPEATS
            self.rates.append(rate)
            self.repeats.append(more)
            none_yet *= 1.0 - rate
            self.first.append(1.0 - none_yet)
        self.any = 1.0 - none_yet

    def chosen(self, rng: random.Random, draw: float) -> list[tuple[ConductPlan, int]]:
        """The conducts of a subject whose screening ``draw`` fell below ``any``."""
        first = bisect_right(self.first, draw)
        chosen = []
        for index in range(first, len(self.plans)):
            if index > first and rng.random() >= self.rates[index]:
                continue
            count = 1
            while count < MAX_OCCURRENCES and rng.random() < self.repeats[index]:
                count += 1
            chosen.append((self.plans[index], count))
        return chosen


class CityRecords:
    """Every row the city's authorities submit, for one pack, size, seed and as-of date."""

    def __init__(
        self, pack: Pack, persons: int, organisations: int, seed: int, as_of: date
    ) -> None:
        self.pack = pack
        self.as_of = as_of
        self.seed = seed
        self.window_start = add_years(as_of, -WINDOW_YEARS)
        self.registrars = self._registrars()
        forms = tuple(
            replace(form, registrars=self._registering_areas(form.registration_authority))
            for form in ORGANISATION_FORMS
        )
        self.population = Population(persons, organisations, seed, as_of, forms)
        self.numbers = DocumentNumbers(pack)
        self.defects = DefectPlanter(pack, self.numbers, as_of)
        self.makers = {
            code: FieldMaker(record_type, pack.validator(code))
            for code, record_type in pack.record_types.items()
        }
        self.plans = {PERSON: self._plans(PERSON), ORGANISATION: self._plans(ORGANISATION)}
        self._odds_by_subject: dict[tuple[str, str, bool], ConductOdds] = {}
        self.credit = CreditHistories(seed, as_of)
        self.lenders = {
            code: [
                pack.authorities[a] for a in sorted(pack.authorities) if pack.may_submit(a, code)
            ]
            for code in CREDIT_RECORD_TYPES
            if code in pack.record_types
        }
        self._person_key = stream_key(seed, STREAM_PERSON_CONDUCT)
        self._grades = {
            code: [str(grade) for grade in record_type.severities]
            for code, record_type in pack.record_types.items()
        }
        self.unfit = 0  # records left out because no fields satisfied their schema
        self._stories: Mapping[str, Callable[[Life, ConductPlan], None]] = {
            "court.judgment": self._judgment,
            "court.defaulter_listing": self._listing,
            "court.consumption_restriction": self._restriction,
            "market.abnormal_operations": self._abnormal_operations,
            "tax.credit_rating": self._tax_ratings,
            "commitment.made": self._commitment,
            "professional.qualification": self._qualification,
            "ip.patent_grant": self._patent,
        }

    # --- set-up from the pack ------------------------------------------------------------

    def _registrars(self) -> dict[str, list[Registrar]]:
        registrars: dict[str, list[Registrar]] = {}
        for code_char, kind in REGISTERING_KINDS.items():
            for authority in sorted(self.pack.authorities.values(), key=lambda a: a.code):
                if authority.kind is not kind or not authority.registration_authority:
                    continue
                registration = self._registration_type(authority, confirms=True)
                if registration is not None:
                    change = self._registration_type(authority, confirms=False)
                    registrars.setdefault(code_char, []).append(
                        Registrar(authority, registration, change)
                    )
        return registrars

    def _registering_areas(self, code_char: str) -> tuple[tuple[str, str], ...]:
        """(area, region) of the offices registering organisations whose code starts with
        ``code_char``, the most local first."""
        offices = {
            (r.authority.area, r.authority.region) for r in self.registrars.get(code_char, [])
        }
        return tuple(sorted(offices, key=lambda office: (-len(office[0]), office)))

    def _registration_type(self, authority: Authority, *, confirms: bool) -> str | None:
        """The type by which ``authority`` registers organisations (``confirms``) or changes
        their legal representative; its own area's type first (``market.`` for ``market.*``)."""
        candidates = sorted(
            code
            for code, record_type in self.pack.record_types.items()
            if record_type.category is Category.REGISTRATION
            and record_type.confirms_subject is confirms
            and SubjectKind.ORGANISATION in record_type.subject_kinds
            and self.pack.may_submit(authority.code, code)
            and (confirms or "legal_representative_id" in _properties(record_type))
        )
        area = authority.code.partition(".")[0] + "."
        return next(
            (code for code in candidates if code.startswith(area)), next(iter(candidates), None)
        )

    def _plans(self, kind: str) -> list[ConductPlan]:
        table = PERSON_CONDUCT if kind == PERSON else ORGANISATION_CONDUCT
        conducts = [c for c in table if c.record_type in self.pack.record_types]
        listed = {c.record_type for c in conducts}
        conducts += [
            Conduct(code, kind, UNLISTED_RATE)
            for code, record_type in sorted(self.pack.record_types.items())
            if code not in listed
            and code not in FOLLOW_UPS
            and record_type.category is not Category.REGISTRATION
        ]
        plans = [
            ConductPlan(conduct, self.pack.record_types[conduct.record_type], self.pack)
            for conduct in conducts
            if kind in self.pack.record_types[conduct.record_type].subject_kinds
            # People's financial records come from their credit history alone (``credit``).
            and not (
                kind == PERSON
                and self.pack.record_types[conduct.record_type].domain is Domain.FINANCIAL
            )
        ]
        return [plan for plan in plans if plan.authorities]

    # --- the stream ----------------------------------------------------------------------

    def rows(self, progress: ProgressCallback | None = None) -> Iterator[SynthRow]:
        population = self.population
        total = population.organisations + population.persons
        done = 0
        for index in range(population.organisations):
            yield from self._organisation_rows(index)
            done += 1
            if progress is not None and done % 1024 == 0:
                progress(done, total)
        for index in range(population.persons):
            yield from self._person_rows(index)
            done += 1
            if progress is not None and done % 1024 == 0:
                progress(done, total)
        if progress is not None:
            progress(done, total)

    def _organisation_rows(self, index: int) -> list[SynthRow]:
        organisation = self.population.organisation(index)
        rng = entity_random(self.seed, STREAM_ORGANISATION_CONDUCT, index)
        repeat = rng.random() < REPEAT_OFFENDER_SHARE[ORGANISATION]
        form = organisation.form.registration_authority + organisation.form.entity_type
        subject = Subject(
            ORGANISATION,
            organisation.uscc,
            organisation.name,
            organisation.district,
            organisation.suspect,
            form,
        )
        first_day = max(self.window_start, organisation.established_on + timedelta(days=1))
        life = Life(rng, subject, first_day, organisation.established_on, repeat)
        self._register(life, organisation)
        odds = self._odds(ORGANISATION, form, repeat)
        draw = rng.random()
        if first_day <= self.as_of and draw < odds.any:
            self._episodes(life, odds.chosen(rng, draw))
        return life.rows

    def _person_rows(self, index: int) -> list[SynthRow]:
        draw = entity_unit(self._person_key, index)
        share = REPEAT_OFFENDER_SHARE[PERSON]
        repeat = draw < share
        # The same draw, rescaled, screens for any conduct at all.
        draw = draw / share if repeat else (draw - share) / (1.0 - share)
        odds = self._odds(PERSON, "", repeat)
        risk = self.credit.risk(index)
        if draw >= odds.any and risk is None:
            return []  # most people: no record at all, and no need to build their identity
        person = self.population.person(index)
        first_day = max(self.window_start, person.adult_on())
        if first_day > self.as_of:
            return []
        subject = Subject(PERSON, person.resident_id, person.name, person.district, False)
        rows: list[SynthRow] = []
        if draw < odds.any:
            rng = entity_random(self.seed, STREAM_PERSON_CONDUCT, index)
            life = Life(rng, subject, first_day, person.birth_date, repeat)
            self._episodes(life, odds.chosen(rng, draw))
            rows = life.rows
        if risk is not None:
            life = Life(self.credit.rng(index), subject, first_day, person.birth_date, False)
            self._credit_history(life, risk)
            rows += life.rows
        return rows

    def _credit_history(self, life: Life, risk: float) -> None:
        """The borrower's credit accounts, card statuses, repayments and overdue events, all
        reported by one lender (of those the pack lets report each type)."""
        lender = life.rng.random()
        for event in self.credit.history(life.rng, risk, life.first_day):
            lenders = self.lenders.get(event.record_type)
            if not lenders or event.severity not in self._grades[event.record_type]:
                continue
            self._submit(
                life,
                event.record_type,
                lenders[int(lender * len(lenders))],
                event.decided_on,
                severity=event.severity,
                given=event.fields,
                amount=event.amount,
                lag=(0, 0),
            )

    def outcomes(self) -> Iterator[tuple[str, bool]]:
        """Each borrower's identity number and default outcome, in index order (see
        ``credit``): the truth a scorecard is trained on, never a record."""
        for index in range(self.population.persons):
            risk = self.credit.risk(index)
            if risk is None:
                continue
            person = self.population.person(index)
            if max(self.window_start, person.adult_on()) <= self.as_of:
                yield person.resident_id, self.credit.defaulted(index, risk)

    def _odds(self, kind: str, form: str, repeat_offender: bool) -> ConductOdds:
        key = (kind, form, repeat_offender)
        odds = self._odds_by_subject.get(key)
        if odds is None:
            plans = [p for p in self.plans[kind] if not p.conduct.forms or form in p.conduct.forms]
            odds = self._odds_by_subject[key] = ConductOdds(plans, repeat_offender)
        return odds

    def _episodes(self, life: Life, chosen: list[tuple[ConductPlan, int]]) -> None:
        for plan, count in chosen:
            story = self._stories.get(plan.code, self._single)
            for _ in range(count):
                story(life, plan)

    # --- stories -------------------------------------------------------------------------

    def _register(self, life: Life, organisation: Organisation) -> None:
        registrar = next(
            (
                r
                for r in self.registrars.get(organisation.form.registration_authority, [])
                if self.pack.jurisdiction.refusal(
                    r.authority.code, r.registration, ORGANISATION, organisation.uscc
                )
                is None
            ),
            None,
        )
        if registrar is None:
            return  # no authority of the pack registers it: known only from other records
        first = organisation.history[0]
        representative = self.population.person(first.representative)
        self._submit(
            life,
            registrar.registration,
            registrar.authority,
            organisation.established_on,
            given={
                "name": organisation.name,
                "org_type": organisation.form.org_type,
                "legal_representative_id": representative.resident_id,
                "legal_representative_name": representative.name,
                "registered_capital": organisation.registered_capital,
                "address": first.address,
                "established_on": organisation.established_on.isoformat(),
            },
            lag=(0, 0),
            withdrawable=False,
        )
        if registrar.change is None:
            return
        for before, after in pairwise(organisation.history):
            given: dict[str, Any] = {}
            if after.representative != before.representative:
                successor = self.population.person(after.representative)
                given["legal_representative_id"] = successor.resident_id
                given["legal_representative_name"] = successor.name
            if after.address != before.address:
                given["address"] = after.address
            self._submit(
                life,
                registrar.change,
                registrar.authority,
                after.since,
                given=given,
                lag=(0, 0),
                withdrawable=False,
            )

    def _single(self, life: Life, plan: ConductPlan) -> None:
        authority = plan.authority(life.rng, life.subject)
        if authority is not None:
            self._submit(
                life,
                plan.code,
                authority,
                self._day(life),
                severity=self._grade(life.rng, plan.code, plan.conduct.severities),
                amount_draw=plan.conduct.amount,
                lag=plan.conduct.lag_days,
            )

    def _judgment(self, life: Life, plan: ConductPlan) -> None:
        court = plan.authority(life.rng, life.subject)
        if court is None:
            return
        day = self._day(life)
        case_no = self.numbers.court_case(
            court.code, DocumentNumbers.case_kind(court, plan.code), day.year
        )
        judgment = self._submit(
            life,
            plan.code,
            court,
            day,
            given={"case_no": case_no},
            document_no=case_no,
            lag=plan.conduct.lag_days,
        )
        if judgment is None or life.rng.random() >= JUDGMENT_LEADS_TO_LISTING:
            return
        # Not performed within the time allowed: the creditor applies for enforcement.
        listed_on = date.fromisoformat(judgment["effective_on"]) + timedelta(
            days=life.rng.randint(60, 400)
        )
        if listed_on <= self.as_of:
            self._enforcement(life, court, listed_on, f"{case_no}民事判决书")

    def _listing(self, life: Life, plan: ConductPlan) -> None:
        court = plan.authority(life.rng, life.subject)
        if court is not None:
            day = self._day(life)
            # Enforced on a judgment given before the window, so not among the records.
            basis = self.numbers.court_case(
                court.code, DocumentNumbers.case_kind(court, "court.judgment"), day.year - 1
            )
            self._enforcement(life, court, day, f"{basis}民事判决书")

    def _enforcement(self, life: Life, court: Authority, day: date, basis: str) -> None:
        listing = "court.defaulter_listing"
        if not self.pack.may_submit(court.code, listing):
            return
        rng = life.rng
        case_no = self.numbers.court_case(court.code, "执", day.year)
        owed = money(rng, *OBLIGATIONS[life.subject.kind])
        listed = self._submit(
            life,
            listing,
            court,
            day,
            given={
                "case_no": case_no,
                "obligation": f"给付申请执行人{owed:.2f}元及迟延履行期间的债务利息",
                "basis_document": basis,
            },
            amount=owed,
            document_no=case_no,
            lag=(0, 3),
            withdrawable=False,
        )
        if listed is None:
            return
        restriction = "court.consumption_restriction"
        if rng.random() < LISTING_RESTRICTS_CONSUMPTION and self.pack.may_submit(
            court.code, restriction
        ):
            self._submit(
                life,
                restriction,
                court,
                day,
                given={"case_no": case_no},
                document_no=case_no,
                lag=(0, 2),
            )
        performed = "court.obligation_performed"
        if rng.random() < LISTING_PERFORMED and self.pack.may_submit(court.code, performed):
            performed_on = day + timedelta(days=rng.randint(30, 900))
            if performed_on <= self.as_of:
                self._submit(
                    life,
                    performed,
                    court,
                    performed_on,
                    given={"case_no": case_no},
                    document_no=f"{case_no}之一",
                    lag=(0, 0),
                )

    def _restriction(self, life: Life, plan: ConductPlan) -> None:
        court = plan.authority(life.rng, life.subject)
        if court is not None:
            day = self._day(life)
            case_no = self.numbers.court_case(court.code, "执", day.year)
            self._submit(
                life,
                plan.code,
                court,
                day,
                given={"case_no": case_no},
                document_no=case_no,
                lag=plan.conduct.lag_days,
            )

    def _abnormal_operations(self, life: Life, plan: ConductPlan) -> None:
        office = plan.authority(life.rng, life.subject)
        if office is None:
            return
        rng = life.rng
        day = self._day(life)
        listing = self._submit(
            life, plan.code, office, day, lag=plan.conduct.lag_days, withdrawable=False
        )
        if listing is None:
            return
        removal, escalation = (
            "market.abnormal_operations_removal",
            "market.serious_violation_listing",
        )
        if rng.random() < ABNORMAL_REMOVED:
            removed_on = day + timedelta(days=rng.randint(20, 600))
            if removed_on <= self.as_of and self.pack.may_submit(office.code, removal):
                self._submit(
                    life,
                    removal,
                    office,
                    removed_on,
                    given={"listing_document_no": listing["document_no"]},
                    lag=(0, 0),
                )
            return
        escalated_on = add_years(day, 3) + timedelta(days=rng.randint(0, 60))
        if (
            escalated_on <= self.as_of
            and rng.random() < ABNORMAL_ESCALATED
            and self.pack.may_submit(office.code, escalation)
        ):
            self._submit(
                life,
                escalation,
                office,
                escalated_on,
                given={"reason": ESCALATION_REASON},
                lag=(0, 3),
            )

    def _tax_ratings(self, life: Life, plan: ConductPlan) -> None:
        """Ratings for each year since establishment, published in April of the next year."""
        office = plan.authority(life.rng, life.subject)
        if office is None:
            return
        for year in range(max(life.since.year, self.window_start.year - 1), self.as_of.year):
            published = date(year + 1, 4, life.rng.randint(1, 28))
            if not self.window_start <= published <= self.as_of:
                continue
            # A taxpayer in its first year, without a full year of returns, is rated M.
            grade, score = (
                ("M", None)
                if year == life.since.year
                else tax_grade(life.rng, life.repeat_offender)
            )
            self._submit(
                life,
                plan.code,
                office,
                published,
                given={"year": year, "grade": grade, "score": score},
                lag=(0, 0),
            )

    def _commitment(self, life: Life, plan: ConductPlan) -> None:
        authority = plan.authority(life.rng, life.subject)
        if authority is None:
            return
        day = self._day(life)
        made = self._submit(
            life, plan.code, authority, day, lag=plan.conduct.lag_days, withdrawable=False
        )
        breach = "commitment.breach"
        if made is None or life.rng.random() >= COMMITMENT_BREACHED:
            return
        found_on = day + timedelta(days=life.rng.randint(30, 700))
        if found_on <= self.as_of and self.pack.may_submit(authority.code, breach):
            self._submit(
                life,
                breach,
                authority,
                found_on,
                severity=self._grade(life.rng, breach, FOLLOW_UP_GRADES.get(breach, {})),
                given={
                    "subject_matter": made["fields"].get("subject_matter"),
                    "commitment_document_no": made["document_no"],
                },
            )

    def _qualification(self, life: Life, plan: ConductPlan) -> None:
        authority = plan.authority(life.rng, life.subject)
        if authority is None:
            return
        day = self._day(life)
        granted = self._submit(
            life, plan.code, authority, day, lag=plan.conduct.lag_days, withdrawable=False
        )
        revoked = "professional.qualification_revoked"
        if granted is None or life.rng.random() >= QUALIFICATION_REVOKED:
            return
        revoked_on = day + timedelta(days=life.rng.randint(60, 900))
        if revoked_on <= self.as_of and self.pack.may_submit(authority.code, revoked):
            self._submit(
                life,
                revoked,
                authority,
                revoked_on,
                severity=self._grade(life.rng, revoked, FOLLOW_UP_GRADES.get(revoked, {})),
                given={
                    "title": granted["fields"].get("title"),
                    "reason": life.rng.choice(REVOCATION_REASONS),
                },
            )

    def _patent(self, life: Life, plan: ConductPlan) -> None:
        office = plan.authority(life.rng, life.subject)
        if office is not None:
            day = self._day(life)
            number = self.numbers.issue(office.code, plan.code, day)
            self._submit(
                life,
                plan.code,
                office,
                day,
                given={"patent_no": number},
                document_no=number,
                lag=plan.conduct.lag_days,
            )

    # --- one record ----------------------------------------------------------------------

    def _day(self, life: Life) -> date:
        return uniform_day(life.rng, life.first_day, self.as_of)

    def _grade(self, rng: random.Random, code: str, preferred: Mapping[str, float]) -> str:
        grades = self._grades[code]
        if len(grades) == 1:
            return grades[0]
        # A grade the domain does not expect keeps a small share, so a pack's new grade is used.
        weights = [preferred.get(grade, 0.02) if preferred else 1.0 for grade in grades]
        return rng.choices(grades, weights)[0]

    def _submit(
        self,
        life: Life,
        code: str,
        authority: Authority,
        decided_on: date,
        *,
        severity: str | None = None,
        given: Mapping[str, Any] | None = None,
        amount: float | None = None,
        amount_draw: AmountDraw | None = None,
        document_no: str | None = None,
        lag: tuple[int, int] = (0, 7),
        withdrawable: bool = True,
    ) -> Row | None:
        """Add one submitted record and what may follow it; the record, or None if the pack
        leaves no valid way to write it."""
        rng = life.rng
        record_type = self.pack.record_types[code]
        severity = severity or self._grade(rng, code, {})
        occasion = Occasion(
            rng, code, life.subject, authority, decided_on, severity, self.population.pools
        )
        given = given or {}
        fields = self.makers[code].make(occasion, given)
        if fields is None:
            self.unfit += 1
            return None
        if record_type.amount is AmountRule.FORBIDDEN:
            amount = None
        elif amount is None and amount_draw is not None:
            amount = amount_draw(occasion, fields)
        if amount is None and record_type.amount is AmountRule.REQUIRED:
            amount = money(rng, 1_000, 1_000_000)
        effective_on = min(self.as_of, decided_on + timedelta(days=rng.randint(*lag)))
        record: Row = {
            "record_type": code,
            "subject_id": life.subject.identifier,
            "subject_name": life.subject.name,
            "authority": authority.code,
            "document_no": document_no or self.numbers.issue(authority.code, code, decided_on),
            "decided_on": decided_on.isoformat(),
            "effective_on": effective_on.isoformat(),
            "severity": severity,
        }
        if amount is not None:
            record["amount"] = amount
        record["fields"] = fields
        life.rows.append(SynthRow(record))
        self._aftermath(life, record, occasion, given, authority, withdrawable)
        return record

    def _aftermath(
        self,
        life: Life,
        record: Row,
        occasion: Occasion,
        given: Mapping[str, Any],
        authority: Authority,
        withdrawable: bool,
    ) -> None:
        rng = life.rng
        roll = rng.random()
        if withdrawable and roll < WITHDRAW_SHARE:
            life.rows.append(
                SynthRow(
                    {
                        "record_type": record["record_type"],
                        "subject_id": record["subject_id"],
                        "authority": record["authority"],
                        "document_no": record["document_no"],
                        "op": "withdraw",
                    }
                )
            )
        elif roll < WITHDRAW_SHARE + CORRECT_SHARE:
            corrected = self._correction(record, occasion, given)
            if corrected is not None:
                life.rows.append(SynthRow(corrected))
        if rng.random() < MALFORMED_SHARE:
            planted, defect = self.defects.plant(rng, record, life.subject, authority)
            life.rows.append(SynthRow(planted, defect))

    def _correction(self, record: Row, occasion: Occasion, given: Mapping[str, Any]) -> Row | None:
        """The record as the authority corrects it: a different sum, a field drawn anew or,
        failing both, a later effective date."""
        rng = occasion.rng
        corrected = {**record, "op": "correct"}
        if "amount" in record and rng.random() < 0.7:
            factor = rng.choice((rng.uniform(0.5, 0.95), rng.uniform(1.05, 1.5)))
            corrected["amount"] = round(max(0.01, record["amount"] * factor), 2)
            return corrected if corrected["amount"] != record["amount"] else None
        redrawn = self.makers[record["record_type"]].make(replace(occasion, memo={}), given)
        if redrawn is not None and redrawn != record["fields"]:
            corrected["fields"] = redrawn
            return corrected
        effective_on = date.fromisoformat(record["effective_on"])
        later = min(self.as_of, effective_on + timedelta(days=rng.randint(1, 10)))
        if later == effective_on:
            return None
        corrected["effective_on"] = later.isoformat()
        return corrected


def _properties(record_type: RecordType) -> Mapping[str, Any]:
    properties = record_type.fields.get("properties")
    return properties if isinstance(properties, Mapping) else {}

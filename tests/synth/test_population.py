"""People and organisations: valid, unique identifiers, each derived from its index alone."""

from dataclasses import replace
from datetime import date

import pytest

from xinyong.identifiers import IdentifierKind, parse
from xinyong.synth.population import (
    BIRTH_FIRST,
    BIRTH_LAST,
    DISTRICT_BY_CODE,
    ORGANISATION_FORMS,
    Population,
)

AS_OF = date(2026, 11, 1)
# Registered by Chaoyang's own office, or else by the municipal bureau; village collectives
# by no office of the pack.
OFFICES = (("110105", "110105"), ("11", "110000"))
FORMS = tuple(
    replace(form, registrars=OFFICES if form.registration_authority != "N" else ())
    for form in ORGANISATION_FORMS
)


def city(persons: int, organisations: int, seed: int = 1) -> Population:
    return Population(persons, organisations, seed, AS_OF, FORMS)


def test_resident_ids_are_valid_unique_and_from_beijing() -> None:
    people = [city(20_000, 0).person(index) for index in range(20_000)]
    assert len({p.resident_id for p in people}) == len(people)
    for person in people:
        parsed = parse(person.resident_id, IdentifierKind.RESIDENT_ID, today=AS_OF)
        assert parsed.valid, person
        assert parsed.birth_date == person.birth_date
        assert parsed.sex == person.sex
        assert person.district.code == parsed.region_code
        assert BIRTH_FIRST <= person.birth_date <= BIRTH_LAST
        assert 2 <= len(person.name) <= 4
    assert {p.district.code for p in people} == set(DISTRICT_BY_CODE)
    # More people live in Chaoyang than in Yanqing, as in the census.
    districts = [p.district.name for p in people]
    assert districts.count("朝阳区") > 4 * districts.count("延庆区")


def test_organisation_codes_are_unique_and_valid_except_the_suspect_few() -> None:
    organisations = [city(1_000, 5_000).organisation(index) for index in range(5_000)]
    assert len({o.uscc for o in organisations}) == len(organisations)
    suspect = [o for o in organisations if o.suspect]
    assert 0 < len(suspect) < 0.01 * len(organisations)
    for organisation in organisations:
        parsed = parse(organisation.uscc, IdentifierKind.USCC)
        assert parsed.valid is not organisation.suspect, organisation
        assert parsed.suspect is organisation.suspect
        # The code names the region of the office that registers the organisation.
        district = organisation.district.code
        registered_in = {(): district, OFFICES: "110105" if district == "110105" else "110000"}
        assert organisation.uscc[2:8] == registered_in[organisation.form.registrars]
        assert (
            organisation.uscc[:2]
            == organisation.form.registration_authority + organisation.form.entity_type
        )
    assert all(o.form.registrars for o in suspect)
    prefixes = [o.uscc[:2] for o in organisations]
    assert (
        prefixes.count("91")
        > prefixes.count("92")
        > prefixes.count("52")
        > prefixes.count("N2")
        > 0
    )
    # Codes issued since the 2015 reform carry an "MA" body.
    assert any(o.uscc[8:10] == "MA" for o in organisations if o.established_on.year >= 2016)


def test_every_subject_is_derived_from_its_index_alone() -> None:
    small, huge = city(100, 10), city(10_000_000, 10)
    assert small.person(57) == huge.person(57)
    assert city(100, 10).organisation(7) == city(100, 2_000_000).organisation(7)
    assert city(100, 10, seed=2).person(57) != small.person(57)


def test_legal_representatives_are_adults_and_change_over_time() -> None:
    population = city(5_000, 2_000)
    organisations = [population.organisation(index) for index in range(2_000)]
    changed = 0
    for organisation in organisations:
        days = [tenure.since for tenure in organisation.history]
        assert days == sorted(days) and days[0] == organisation.established_on
        assert days[-1] <= AS_OF
        for tenure in organisation.history:
            assert population.person(tenure.representative).adult_on() <= tenure.since
        changed += len({tenure.representative for tenure in organisation.history}) > 1
    assert 0.1 * len(organisations) < changed < 0.3 * len(organisations)


def test_a_city_larger_than_the_identity_space_is_refused() -> None:
    with pytest.raises(ValueError, match="persons fit"):
        city(10**9, 0)
    with pytest.raises(ValueError, match="legal representatives"):
        city(0, 10)

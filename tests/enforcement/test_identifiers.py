"""No decision rests on a bad identifier: ``POST /v1/checks`` refuses one with 422, a batch
refuses it in its place and answers the rest, ``xinyong check`` exits non-zero, each with the
problems ``xinyong id`` reports; a code the platform holds despite a wrong check character
(registries have issued some) is still decided."""

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from typer.testing import CliRunner

from xinyong.app import create_app
from xinyong.cli import app as cli
from xinyong.clock import china_today
from xinyong.config import Settings, get_settings
from xinyong.enforcement import api
from xinyong.enforcement.api import checks_of
from xinyong.enforcement.models import CheckLogRow
from xinyong.identifiers import parse, resident_id
from xinyong.keys.service import create_key
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.store import migrated_sqlite, migrated_store

PURPOSE = "ticket sale, flight CA1234"
ISSUE_EXAMPLES = ("11010519491231002Y", "110105194912310021")
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = migrated_sqlite(tmp_path_factory.mktemp("identifiers") / "store.db")
    return url


@pytest.fixture(scope="module")
def client(store: str) -> Iterator[TestClient]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(api, "POLL_SECONDS", 0.0)
        with TestClient(create_app(Settings(database_url=store))) as client:
            yield client


@pytest.fixture(scope="module")
def airline(store: str) -> dict[str, str]:
    with make_sessionmaker(make_engine(store)).begin() as session:
        token = create_key(session, role="relying_party", authority=None, label="airline")
    return {"Authorization": f"Bearer {token}"}


def valid_people() -> st.SearchStrategy[str]:
    return st.builds(
        resident_id.make,
        st.sampled_from(["110105", "310101", "440305"]),
        st.dates(min_value=china_today().replace(year=1900), max_value=china_today()),
        st.integers(0, 999),
    )


def identifiers() -> st.SearchStrategy[str]:
    """Valid numbers, and the ways people and programs get them wrong."""
    return st.one_of(
        valid_people(),
        valid_people().map(samples.with_wrong_check),
        valid_people().map(lambda code: code[:17]),
        valid_people().map(lambda code: code + "1"),
        valid_people().map(lambda code: code.translate(FULL_WIDTH)),
        valid_people().map(lambda code: code.replace("1", "¹").replace("2", "²")),
        valid_people().map(lambda code: code.replace("3", "\u0663")),  # ARABIC-INDIC THREE
        st.tuples(valid_people(), st.integers(0, 17)).map(
            lambda pair: pair[0][: pair[1]] + "\x00" + pair[0][pair[1] + 1 :]
        ),
        st.integers(0, 10**6).map(samples.organisation),
        st.integers(0, 10**6).map(lambda n: samples.with_wrong_check(samples.organisation(n))),
        st.text(max_size=30),
    )


def expected_refusal(raw: str) -> str | None:
    """What the refusal says about ``raw`` (what ``xinyong id`` reports), or None if valid."""
    parsed = parse(raw, today=china_today())
    if parsed.valid:
        return None
    return f"{parsed.kind.value}, {parsed.status}: {'; '.join(parsed.errors)}"


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(identifiers())
def test_a_check_is_decided_exactly_when_the_identifier_is_valid(
    client: TestClient, airline: dict[str, str], raw: str
) -> None:
    body = {"subject_id": raw, "action": "buy_air_ticket", "purpose": PURPOSE}
    response = client.post("/v1/checks", json=body, headers=airline)
    refusal = expected_refusal(raw)
    if refusal is None:
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["subject_id"] == parse(raw).code and answer["known"] is False
    else:
        assert response.status_code == 422, response.text
        assert response.json()["detail"] == f"subject_id: {refusal}"


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(identifiers(), min_size=1, max_size=30))
def test_a_batch_answers_every_good_item_and_refuses_each_bad_one_in_place(
    client: TestClient, airline: dict[str, str], store: str, raws: list[str]
) -> None:
    factory = make_sessionmaker(make_engine(store))
    checks_of(client.app).log.flush()  # the rows of checks before this one
    with factory() as session:
        before = session.scalar(select(func.count()).select_from(CheckLogRow))
    items = [{"subject_id": raw, "action": "buy_air_ticket"} for raw in raws]
    response = client.post(
        "/v1/checks/batch", json={"purpose": PURPOSE, "items": items}, headers=airline
    )
    assert response.status_code == 200, response.text
    answers = response.json()["decisions"]
    assert len(answers) == len(raws)
    for position, (raw, answer) in enumerate(zip(raws, answers, strict=True)):
        refusal = expected_refusal(raw)
        if refusal is None:
            assert answer["effect"] == "allow" and answer["subject_id"] == parse(raw).code
        else:
            assert answer == {
                "index": position,
                "subject_id": raw,
                "action": "buy_air_ticket",
                "error": f"items[{position}].subject_id: {refusal}",
            }
    checks_of(client.app).log.flush()
    with factory() as session:
        after = session.scalar(select(func.count()).select_from(CheckLogRow))
    assert after - before == sum(expected_refusal(raw) is None for raw in raws)


def test_the_examples_of_the_report_are_refused_with_what_xinyong_id_says(
    client: TestClient, airline: dict[str, str]
) -> None:
    reported = orjson.loads(runner.invoke(cli, ["id", *ISSUE_EXAMPLES, "--json"]).stdout)
    for raw, said in zip(ISSUE_EXAMPLES, reported, strict=True):
        body = {"subject_id": raw, "action": "buy_air_ticket", "purpose": PURPOSE}
        response = client.post("/v1/checks", json=body, headers=airline)
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert said["errors"] and all(error in detail for error in said["errors"])


def test_a_code_the_platform_holds_despite_its_check_character_is_decided(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suspect = samples.with_wrong_check(samples.organisation(7))
    url = migrated_sqlite(tmp_path / "held.db")
    monkeypatch.setattr(api, "POLL_SECONDS", 0.0)
    factory = make_sessionmaker(make_engine(url))
    with factory.begin() as session:
        market = create_key(session, role="authority", authority="market.110105", label="market")
        airline = create_key(session, role="relying_party", authority=None, label="airline")
    other = samples.with_wrong_check(samples.organisation(8))
    with TestClient(create_app(Settings(database_url=url, var_dir=tmp_path))) as client:
        row = samples.registration(suspect, samples.person(3), 1)
        del row["authority"]
        submitted = client.post(
            "/v1/submissions", json=[row], headers={"Authorization": f"Bearer {market}"}
        )
        assert submitted.json()["accepted"] == 1, submitted.text
        headers = {"Authorization": f"Bearer {airline}"}
        held = client.post(
            "/v1/checks",
            json={"subject_id": suspect, "action": "bid_public_procurement", "purpose": PURPOSE},
            headers=headers,
        )
        assert held.status_code == 200 and held.json()["known"] is True
        stranger = client.post(
            "/v1/checks",
            json={"subject_id": other, "action": "bid_public_procurement", "purpose": PURPOSE},
            headers=headers,
        )
        assert stranger.status_code == 422


@pytest.mark.parametrize("raw", ISSUE_EXAMPLES)
def test_the_command_refuses_a_bad_identifier_with_a_non_zero_exit(
    raw: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("XINYONG_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        migrated_store()
        result = runner.invoke(cli, ["check", raw, "buy_air_ticket"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert f"SUBJECT: {expected_refusal(raw)}" in result.stderr
    assert "allow" not in result.stdout


@pytest.mark.parametrize(
    "purpose",
    ["ticket\x00sale", "ticket\nsale", "ticket\x1b[31msale", "ticket \u202esale", "ticket\x85sale"],
)
def test_a_purpose_is_plain_text(client: TestClient, airline: dict[str, str], purpose: str) -> None:
    body = {"subject_id": samples.person(1), "action": "buy_air_ticket", "purpose": purpose}
    response = client.post("/v1/checks", json=body, headers=airline)
    assert response.status_code == 422 and "purpose" in response.json()["detail"]
    batch = {
        "purpose": purpose,
        "items": [{"subject_id": samples.person(1), "action": "apply_loan"}],
    }
    assert client.post("/v1/checks/batch", json=batch, headers=airline).status_code == 422


def test_a_lone_surrogate_is_refused_as_bad_json(
    client: TestClient, airline: dict[str, str]
) -> None:
    body = (
        b'{"subject_id": "11010519491231002X", "action": "buy_air_ticket", "purpose": "a\\ud800b"}'
    )
    response = client.post(
        "/v1/checks", content=body, headers={**airline, "Content-Type": "application/json"}
    )
    assert response.status_code == 422 and "JSON" in response.json()["detail"]

"""Accounts, sign-in and sessions in the store, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from xinyong.accounts.models import Account, AccountSession
from xinyong.accounts.service import (
    AccountError,
    LoginRefused,
    SessionInvalid,
    create_account,
    list_accounts,
    login,
    logout,
    signed_in,
)
from xinyong.cli import app as xinyong
from xinyong.config import Settings, get_settings
from xinyong.demo.accounts import demo_accounts
from xinyong.policy import Pack
from xinyong.testing import samples
from xinyong.testing.ingest import ingest

PASSWORD = "correct horse battery"


def test_a_subject_signs_in_and_out(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    person = samples.person(3)
    ingest(factory, national, tmp_path, [samples.defaulter_listing(person, 3)])
    with factory.begin() as session:
        account_id = create_account(
            session,
            username="zhang",
            password=PASSWORD,
            role="subject",
            subject_identifier=person.lower(),
        )
    with factory.begin() as session:
        token = login(session, "zhang", PASSWORD)
    with factory() as session:
        live = signed_in(session, token)
        assert live.account.id == account_id and live.subject_identifier == person
        # Neither the password nor the token is stored as given.
        stored = session.scalars(select(Account)).one()
        assert stored.password_hash.startswith("$argon2") and PASSWORD not in stored.password_hash
        assert token not in {row.token_hash for row in session.scalars(select(AccountSession))}
        assert [(a.username, identifier) for a, identifier in list_accounts(session)] == [
            ("zhang", person)
        ]
    with factory.begin() as session:
        logout(session, token)
    with factory() as session, pytest.raises(SessionInvalid, match="signed out"):
        signed_in(session, token)
    with factory.begin() as session, pytest.raises(SessionInvalid):
        logout(session, token)


def test_a_session_ends_at_its_expiry(factory: sessionmaker[Session]) -> None:
    started = datetime(2026, 11, 1, 8, tzinfo=UTC)
    with factory.begin() as session:
        create_account(session, username="op", password=PASSWORD, role="operator")
        token = login(session, "op", PASSWORD, lifetime=timedelta(hours=12), now=started)
    with factory() as session:
        assert signed_in(
            session, token, now=started + timedelta(hours=11, minutes=59)
        ).expires_at == (started + timedelta(hours=12))
        with pytest.raises(SessionInvalid, match="expired"):
            signed_in(session, token, now=started + timedelta(hours=12))


def test_wrong_credentials_say_nothing_of_which_part_was_wrong(
    factory: sessionmaker[Session],
) -> None:
    with factory.begin() as session:
        create_account(session, username="rev", password=PASSWORD, role="reviewer")
    with factory() as session:
        with pytest.raises(LoginRefused) as wrong_password:
            login(session, "rev", "not the password")
        with pytest.raises(LoginRefused) as unknown_user:
            login(session, "nobody", PASSWORD)
    assert str(wrong_password.value) == str(unknown_user.value) == "wrong username or password"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"role": "judge"}, "role must be one of"),
        ({"role": "subject"}, "names a subject"),
        ({"role": "operator", "subject_identifier": samples.person(1)}, "names a subject"),
        ({"role": "authority"}, "names an authority"),
        ({"role": "subject", "subject_identifier": samples.person(99)}, "no subject with"),
        ({"role": "operator", "password": "short"}, "at least 8"),
        ({"role": "operator", "username": "  "}, "username is required"),
    ],
)
def test_accounts_are_refused_when_they_do_not_make_sense(
    factory: sessionmaker[Session], fields: dict[str, str], message: str
) -> None:
    with factory.begin() as session, pytest.raises(AccountError, match=message):
        create_account(session, **{"username": "x", "password": PASSWORD, **fields})  # type: ignore[arg-type]


def test_usernames_are_unique(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        create_account(
            session,
            username="clerk",
            password=PASSWORD,
            role="authority",
            authority_code="court.110105",
        )
    with factory.begin() as session, pytest.raises(AccountError, match="taken"):
        create_account(session, username="clerk", password=PASSWORD, role="auditor")


def test_the_demo_accounts_cover_every_role_and_sign_in(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    company, boss, defaulter = samples.organisation(7), samples.person(7), samples.person(8)
    ingest(
        factory,
        national,
        tmp_path,
        [
            samples.registration(company, boss, 7),
            samples.defaulter_listing(
                defaulter, 8, decided_on="2026-10-01", effective_on="2026-10-01"
            ),
        ],
    )
    accounts = demo_accounts(factory, tmp_path / "var")
    assert [(a["role"], a["subject"], a["authority"]) for a in accounts] == [
        ("subject", defaulter, None),
        ("subject", company, None),
        ("operator", None, None),
        ("reviewer", None, None),
        ("auditor", None, None),
        ("authority", None, "court.110105"),
    ]
    # A rerun prints the same accounts and creates none.
    assert demo_accounts(factory, tmp_path / "var") == accounts
    with factory.begin() as session:
        assert len(list_accounts(session)) == len(accounts)
        live = signed_in(session, login(session, accounts[0]["username"], accounts[0]["password"]))
        assert live.subject_identifier == defaulter


def test_a_service_hashes_with_argon2id_and_upgrades_a_cheap_hash_at_sign_in(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XINYONG_PASSWORD_HASHING", "insecure-for-tests")
    get_settings.cache_clear()
    with factory.begin() as session:
        create_account(session, username="li", password=PASSWORD, role="operator")
    with factory() as session:
        cheap = session.scalars(select(Account)).one().password_hash
    assert cheap.split("$")[3] == "m=8,t=1,p=1"  # the suite's setting
    monkeypatch.delenv("XINYONG_PASSWORD_HASHING")
    get_settings.cache_clear()
    try:
        assert Settings().password_hashing == "argon2id"
        with factory.begin() as session:
            login(session, "li", PASSWORD)
        with factory() as session:
            upgraded = session.scalars(select(Account)).one().password_hash
        assert upgraded.split("$")[3] == "m=65536,t=3,p=1"
        with factory.begin() as session:
            login(session, "li", PASSWORD)  # the upgraded hash still admits the password
    finally:
        get_settings.cache_clear()


def test_serve_refuses_the_test_suites_cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_PASSWORD_HASHING", "insecure-for-tests")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(xinyong, ["serve", "--port", "1"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "for test suites only" in result.output

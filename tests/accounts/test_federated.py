"""Sign-in through an OpenID Connect provider run by the tests on 127.0.0.1: the code flow with
PKCE, state and nonce, the ID token's signature and claims, and the subject it signs in."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import RSAKey
from sqlalchemy.orm import Session, sessionmaker
from tests.accounts.identity_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    IdentityProvider,
    Serving,
    free_port,
)

from xinyong.app import create_app
from xinyong.config import Settings
from xinyong.records.models import Subject
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples

PERSON = samples.person(7)


@dataclass
class Site:
    client: TestClient
    factory: sessionmaker[Session]
    provider: IdentityProvider


@pytest.fixture
def site(store_url: str, tmp_path: Path) -> Iterator[Site]:
    provider = IdentityProvider(free_port(), person={"id_number": PERSON, "name": "王五"})
    serving = Serving(provider)
    engine = make_engine(store_url)
    factory = make_sessionmaker(engine)
    with factory.begin() as session:
        session.add(
            Subject(identifier=PERSON, kind="person", name="王五", created_at=datetime.now(UTC))
        )
    settings = Settings(
        database_url=store_url,
        var_dir=tmp_path,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
    )
    with TestClient(create_app(settings)) as client:
        yield Site(client, factory, provider)
    serving.stop()
    engine.dispose()


def round_trip(site: Site) -> tuple[httpx.Response, str]:
    """Start at /sign-in/oidc, through the provider, back to the callback: its answer, and the
    callback's path and query."""
    start = site.client.get("/sign-in/oidc", params={"next": "/me"}, follow_redirects=False)
    assert start.status_code == 303, start.text
    assert start.headers["location"].startswith(site.provider.issuer + "/authorize?")
    provider = httpx.get(start.headers["location"], follow_redirects=False)
    assert provider.status_code == 302, provider.text
    back = provider.headers["location"].removeprefix("http://testserver")
    return site.client.get(back, follow_redirects=False), back


def test_a_person_signs_in_through_the_provider_and_sees_their_file(site: Site) -> None:
    answer, _ = round_trip(site)
    assert answer.status_code == 303 and answer.headers["location"] == "/me", answer.text
    [asked] = site.provider.token_requests
    assert asked["grant_type"] == "authorization_code" and len(asked["code_verifier"]) >= 43
    me = site.client.get("/v1/me/file")
    assert me.status_code == 200 and me.json()["subject"]["identifier"] == PERSON
    # The second time, the same account.
    site.client.cookies.clear()
    again, _ = round_trip(site)
    assert again.status_code == 303
    assert site.client.get("/v1/me/file").json()["subject"]["identifier"] == PERSON


def test_an_answer_is_taken_once(site: Site) -> None:
    answer, back = round_trip(site)
    assert answer.status_code == 303
    site.client.cookies.clear()
    replay = site.client.get(back, follow_redirects=False)
    assert replay.status_code == 403 and "already used" in replay.text


@pytest.mark.parametrize(
    "forgery",
    [
        {"signing_key": RSAKey.generate_key(2048, parameters={"kid": "k1"})},
        {"nonce_in_token": "another nonce"},
        {"issuer_in_token": "http://127.0.0.1:1"},
    ],
)
def test_a_token_that_does_not_verify_signs_no_one_in(
    site: Site, forgery: dict[str, object]
) -> None:
    for name, value in forgery.items():
        setattr(site.provider, name, value)
    answer, _ = round_trip(site)
    assert answer.status_code == 403 and "does not verify" in answer.text
    assert site.client.get("/v1/me/file").status_code == 401


def test_a_state_the_platform_never_sent_is_refused(site: Site) -> None:
    answer = site.client.get("/sign-in/oidc/callback", params={"state": "made up", "code": "x"})
    assert answer.status_code == 403
    assert site.provider.token_requests == []  # no code is exchanged for it


def test_a_person_the_platform_holds_no_file_on_is_told_so(site: Site) -> None:
    site.provider.person = {"id_number": samples.person(8)}
    answer, _ = round_trip(site)
    assert answer.status_code == 403 and "no credit file" in answer.text

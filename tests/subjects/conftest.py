"""The city the subject tests share: a store with two people (one a listed defaulter) and a
registered firm, an account of every role and a session for each."""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from xinyong.accounts.service import create_account, login
from xinyong.app import create_app
from xinyong.clock import china_today
from xinyong.config import Settings
from xinyong.keys.service import create_key
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.store import migrated_sqlite

PASSWORD = "a long enough password"
READ = {"X-Purpose": "objection review 2026-17"}


USERS = (
    ("defaulter", "subject", 1, None),
    ("neighbour", "subject", 2, None),
    ("operator", "operator", None, None),
    ("reviewer", "reviewer", None, None),
    ("auditor", "auditor", None, None),
    ("court-clerk", "authority", None, "court.110105"),
    ("market-clerk", "authority", None, "market.110105"),
)


@dataclass
class City:
    client: TestClient
    factory: sessionmaker[Session]
    defaulter: str
    neighbour: str
    airline_key: dict[str, str]
    signed_in: dict[str, dict[str, str]]
    """Username -> the headers of a session started when the city was built."""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_key(
    factory: sessionmaker[Session], role: str, authority: str | None = None
) -> dict[str, str]:
    with factory.begin() as session:
        return bearer(create_key(session, role=role, authority=authority, label=f"{role} test"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A store with two subjects (one a listed defaulter), an account of every role and a
    session for each, built once: argon2 is slow on purpose, so tests copy it instead."""
    folder = tmp_path_factory.mktemp("city")
    url = migrated_sqlite(folder / "api.db")
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    defaulter, neighbour = samples.person(1), samples.person(2)
    day = (china_today() - timedelta(days=30)).isoformat()
    listing = samples.defaulter_listing(defaulter, 1, decided_on=day, effective_on=day)
    donation = samples.blood_donation(neighbour, 2, decided_on=day, effective_on=day)
    firm = samples.registration(samples.organisation(1), defaulter, 1)
    app = create_app(Settings(database_url=url, var_dir=folder))
    with TestClient(app) as client:
        for row in (listing, donation, firm):
            key = api_key(factory, "authority", row.pop("authority"))
            response = client.post("/v1/submissions", json=[row], headers=key)
            assert response.json()["accepted"] == 1, response.text
    app.state.engine.dispose()
    tokens = {}
    with factory.begin() as session:
        for username, role, subject, authority in USERS:
            create_account(
                session,
                username=username,
                password=PASSWORD,
                role=role,
                subject_identifier=None if subject is None else samples.person(subject),
                authority_code=authority,
            )
            tokens[username] = login(session, username, PASSWORD)
    airline = api_key(factory, "relying_party")
    engine.dispose()
    return folder / "api.db", {
        "defaulter": defaulter,
        "neighbour": neighbour,
        "airline_key": airline,
        "signed_in": {username: bearer(token) for username, token in tokens.items()},
    }


@contextmanager
def opened_city(built: tuple[Path, dict[str, Any]], folder: Path) -> Iterator[City]:
    """A copy of the built city in ``folder``, its app running."""
    template, facts = built
    shutil.copyfile(template, folder / "api.db")
    url = f"sqlite:///{folder / 'api.db'}"
    engine = make_engine(url)
    with TestClient(create_app(Settings(database_url=url, var_dir=folder))) as client:
        yield City(client, make_sessionmaker(engine), **facts)
    engine.dispose()


@pytest.fixture
def city(built: tuple[Path, dict[str, Any]], tmp_path: Path) -> Iterator[City]:
    with opened_city(built, tmp_path) as city:
        yield city

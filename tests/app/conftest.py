"""The application over a small store on each backend, with every kind of caller it knows."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from xinyong.accounts.service import create_account, login
from xinyong.app import create_app
from xinyong.clock import china_today
from xinyong.config import Settings
from xinyong.datasets.publish import Publisher
from xinyong.keys.service import create_key
from xinyong.ledger.checkpoint import SigningKey, write_signing_key
from xinyong.ledger.service import checkpoint
from xinyong.policy import load_shipped
from xinyong.search.publish import refresh_search_index
from xinyong.testing import samples

PASSWORD = "correct horse battery"
SUBJECTS = (samples.person(1), samples.person(2))
"""Two persons, each on the court's defaulter list and with an account of their own."""
RECORD = "court.110105|court.defaulter_listing|(2024)京0105执1号"
"""The first subject's record (the second's is number 2)."""


@dataclass
class Site:
    """The running application and a bearer credential for each kind of caller."""

    app: FastAPI
    client: TestClient
    factory: sessionmaker[Session]
    var_dir: Path
    bearer: dict[str, str] = field(default_factory=dict)
    """Role name -> token: API keys (``relying_party``; ``authority_110105`` and
    ``authority_110108``, the market regulators of Chaoyang and Haidian, whose jurisdiction is
    their district) and people's session tokens (``subject_1``, ``subject_2``, ``operator``,
    ``reviewer``, ``auditor``, ``authority_staff``)."""

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer[role]}"} if role in self.bearer else {}


def _key(factory: sessionmaker[Session], role: str, authority: str | None = None) -> str:
    with factory.begin() as session:
        return create_key(session, role=role, authority=authority, label=f"{role} {authority}")


def build_site(
    app: FastAPI, client: TestClient, factory: sessionmaker[Session], var_dir: Path
) -> Site:
    site = Site(app, client, factory, var_dir)
    site.bearer["relying_party"] = _key(factory, "relying_party")
    site.bearer["authority_110105"] = _key(factory, "authority", "market.110105")
    site.bearer["authority_110108"] = _key(factory, "authority", "market.110108")
    court = {"Authorization": f"Bearer {_key(factory, 'authority', 'court.110105')}"}
    # Listed a month ago, so that both are published defaulters today.
    month_ago = (china_today() - timedelta(days=30)).isoformat()
    rows = [
        samples.defaulter_listing(subject, n, decided_on=month_ago, effective_on=month_ago)
        for n, subject in enumerate(SUBJECTS, start=1)
    ]
    answer = client.post("/v1/submissions", json=rows, headers=court)
    assert answer.status_code == 200 and answer.json()["accepted"] == len(rows), answer.text
    people: dict[str, dict[str, str]] = {
        "subject_1": {"role": "subject", "subject_identifier": SUBJECTS[0]},
        "subject_2": {"role": "subject", "subject_identifier": SUBJECTS[1]},
        "operator": {"role": "operator"},
        "reviewer": {"role": "reviewer"},
        "auditor": {"role": "auditor"},
        "authority_staff": {"role": "authority", "authority_code": "court.110105"},
    }
    # Signed in directly, not through /v1/auth/login (tests/accounts covers it): the server's
    # password checker runs at the lowest CPU priority, and on a busy machine six sign-ins a
    # test took the suite's time.
    for username, links in people.items():
        with factory.begin() as session:
            create_account(session, username=username, password=PASSWORD, **links)
            site.bearer[username] = login(session, username, PASSWORD)
    client.cookies.clear()  # each test decides whether it sends a session cookie
    return site


@contextmanager
def running_site(store_url: str, factory: sessionmaker[Session], var_dir: Path) -> Iterator[Site]:
    """The app over the store at ``store_url``, its lifespan run."""
    settings = Settings(database_url=store_url, var_dir=var_dir)
    app = create_app(settings)
    with TestClient(app) as client:
        yield build_site(app, client, factory, settings.var_dir)


@pytest.fixture
def site(store_url: str, factory: sessionmaker[Session], tmp_path: Path) -> Iterator[Site]:
    """The app over a fresh store on SQLite and on PostgreSQL."""
    with running_site(store_url, factory, tmp_path / "var") as site:
        yield site


@pytest.fixture
def city(site: Site) -> dict[str, str]:
    return furnish(site)


def furnish(site: Site) -> dict[str, str]:
    """The site with what its routes show: a signed ledger, a search index, an objection with
    evidence by the first subject; the values the routes' path parameters and queries take
    (``event``: the ledger event of the first subject's public record)."""
    key = SigningKey.generate("xinyong.test/ledger")
    write_signing_key(site.var_dir / "ledger" / "signing.key", key)
    with site.factory.begin() as session:
        signed = checkpoint(session, key)
        create_account(session, username="matrix", password=PASSWORD, role="auditor")
    refresh_search_index(
        site.factory, load_shipped("national"), site.var_dir / "search", china_today()
    )
    Publisher(
        site.factory, load_shipped("national"), Settings(var_dir=site.var_dir)
    ).publish_public()
    filed = site.client.post(
        "/v1/me/objections",
        data={"grounds": "The debt was paid.", "record": RECORD},
        files=[("files", ("receipt.png", samples.png(), "image/png"))],
        headers=site.headers("subject_1"),
    )
    assert filed.status_code == 201, filed.text
    hits = site.client.get("/v1/public/search", params={"q": SUBJECTS[0]}).json()["hits"]
    public = site.client.get(f"/v1/public/subjects/{hits[0]['ref']}").json()
    sections = site.client.get("/v1/stats").json()["sections"]
    return {
        "case_id": str(filed.json()["id"]),
        "n": "1",
        "identifier": SUBJECTS[0],
        "ref": hits[0]["ref"],
        "event": str(public["record_groups"][0]["records"][0]["ledger_event"]),
        "section": sections[0]["code"],
        "code": "court.defaulters",  # a published list
        "slug": "objections-and-repair",  # a help page; an announcement's below
        "tree_size": str(signed.tree_size),
        "name": "records",
        "version": "1",
        "file": "manifest.json",
    }

"""A small synthetic city built the way ``xinyong demo`` builds it, shared by the web tests."""

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.app import create_app
from xinyong.config import Settings
from xinyong.enforcement.checklog import Asker, CheckLog
from xinyong.enforcement.index import MeasuresIndex
from xinyong.enforcement.service import check_in_store
from xinyong.policy import Pack
from xinyong.records.models import Record, RecordHead, Subject
from xinyong.rights.models import RightsCase
from xinyong.search.publish import published_defaulters
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.demo import build_demo

AS_OF = date(2026, 11, 1)
CHECKED_ACTIONS = ("buy_air_ticket", "buy_high_speed_rail_ticket")
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
# Evidence files of each kind an objection accepts.
PNG = samples.png(1, 1)
PDF = samples.pdf()


@dataclass(frozen=True)
class City:
    settings: Settings
    factory: sessionmaker[Session]

    @property
    def url(self) -> str:
        return self.settings.resolved_database_url()


@pytest.fixture(scope="session")
def city(tmp_path_factory: pytest.TempPathFactory, national: Pack) -> Iterator[City]:
    """The demo's city at 1,500 persons and 150 organisations, its search index, and checks
    by a relying party on every published defaulter (so the statistics have data). Without the
    financial scorecard, whose training was a third of the build: no web test reads a
    financial score (the scorecard's tests train their own)."""
    var = tmp_path_factory.mktemp("city")
    built = build_demo(var, persons=1500, orgs=150, scorecard=False)
    assert built.returncode == 0, built.stderr
    settings = Settings(var_dir=var, database_url="")
    engine = make_engine(settings.resolved_database_url())
    factory = make_sessionmaker(engine)
    log = CheckLog(factory)
    index = MeasuresIndex(national)
    with factory() as session:
        for _, identifier, _, _ in published_defaulters(session, national, AS_OF):
            decisions = [
                check_in_store(session, index, identifier, action, AS_OF)
                for action in CHECKED_ACTIONS
            ]
            log.add_all(decisions, Asker("test", "ticket office"), "ticket sale")
    log.flush()
    yield City(settings, factory)
    engine.dispose()


@pytest.fixture(scope="session")
def app(city: City) -> FastAPI:
    return create_app(city.settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A fresh browser: its own cookies (language, CSRF token). Opened for the test, so that its
    requests share one event loop and its worker threads: a client used unopened starts both
    anew for every request, which cost as much as a small page (1,000s of requests a test)."""
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="session")
def person_ids(city: City) -> list[str]:
    """Every person's full resident identity number: none may appear on a public surface."""
    with city.factory() as session:
        return list(session.scalars(select(Subject.identifier).where(Subject.kind == "person")))


@pytest.fixture(scope="module")
def own_city(city: City, tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    """A copy of the city for a module whose tests change it (objections, decisions), so that
    every other test still sees the city as built."""
    var = tmp_path_factory.mktemp("own-city")
    store = Path(city.settings.resolved_database_url().removeprefix("sqlite:///"))
    shutil.copytree(
        city.settings.var_dir,
        var,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(store.name + "*"),
    )
    with sqlite3.connect(store) as source, sqlite3.connect(var / store.name) as target:
        source.backup(target)
    settings = Settings(var_dir=var, database_url="")
    engine = make_engine(settings.resolved_database_url())
    yield City(settings, make_sessionmaker(engine))
    engine.dispose()


@pytest.fixture(scope="module")
def own_app(own_city: City) -> FastAPI:
    """The app over the module's own copy of the city."""
    return create_app(own_city.settings)


@pytest.fixture
def browser(own_app: FastAPI) -> Iterator[TestClient]:
    """A fresh client of the module's own app, with the app's lifespan run."""
    with TestClient(own_app) as client:
        yield client


@pytest.fixture(scope="session")
def passwords(city: City) -> dict[str, str]:
    """The demo's accounts by username (demo-defaulter, demo-org-rep, demo-reviewer ...)."""
    accounts = json.loads((city.settings.var_dir / "demo" / "accounts.json").read_text())
    return {account["username"]: account["password"] for account in accounts}


def sign_in(client: TestClient, username: str, password: str) -> str:
    """Sign ``client`` in through the sign-in form; returns its CSRF token for later forms."""
    form = client.get("/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    answer = client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return token.group(1)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, driven by Playwright, for the tests in a real browser: one per test
    process (each test has a fresh context of its own, see ``page``)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture
def blocked_on_purpose() -> list[str]:
    """Addresses a test expects the content security policy to block (none, unless a test
    module says otherwise)."""
    return []


@pytest.fixture
def page(chromium: Browser, blocked_on_purpose: list[str]) -> Iterator[Page]:
    """A fresh page in a desktop-sized window, in Chinese. Whatever the test does with it, the
    content security policy must never have blocked anything and no script may have failed:
    a page that needs an inline script or a foreign origin fails here."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    opened = context.new_page()
    problems: list[str] = []

    def console(text: str) -> None:
        if "Content Security Policy" in text and not any(
            address in text for address in blocked_on_purpose
        ):
            problems.append(text)

    opened.on("console", lambda message: console(message.text))
    opened.on("pageerror", lambda error: problems.append(str(error)))
    yield opened
    context.close()
    assert problems == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def server(city: City) -> Iterator[str]:
    """The app over the city, served by uvicorn in a process of its own on 127.0.0.1, once per
    test process (the city it serves is shared and never changed)."""
    port = _free_port()
    env = {
        **os.environ,
        "XINYONG_VAR_DIR": str(city.settings.var_dir),
        "XINYONG_DATABASE_URL": "",
    }
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "--factory", "xinyong.app:create_app"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def listed_and_restricted(city: City) -> tuple[int, str, str]:
    """A subject of the city with a defaulter listing and a consumption restriction of the
    same enforcement case, neither objected to: its id and the two document keys."""
    with city.factory() as session:
        rows = session.execute(
            select(Record)
            .join(RecordHead, RecordHead.record_id == Record.id)
            .where(
                RecordHead.status == "active",
                Record.record_type.in_(
                    ("court.defaulter_listing", "court.consumption_restriction")
                ),
            )
            .order_by(Record.id)
        ).scalars()
        by_case: dict[tuple[int, str], dict[str, str]] = {}
        for record in rows:
            key = (record.subject_id, record.fields["case_no"])
            by_case.setdefault(key, {})[record.record_type] = record.document_key
        objected = set(session.scalars(select(RightsCase.document_key)))
    for (subject_id, _), keys in by_case.items():
        if len(keys) == 2 and not objected & set(keys.values()):
            return (
                subject_id,
                keys["court.defaulter_listing"],
                keys["court.consumption_restriction"],
            )
    raise AssertionError("the demo city has no listing with a restriction of its case")

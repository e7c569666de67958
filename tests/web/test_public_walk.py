"""An outsider walks every public route of a small demo city, the way an adversary would: every
GET route of the app's route table (path parameters filled with every subject, the query
``event`` with every ledger index), then every link found in the pages. No answer may hold a
value of a record the public may not see (a non-public type, a version no longer current, a
record whose publicity ended, a field the portal hides), a staff read's purpose, an objection's
grounds, a check's purpose, or any person's full identity number: not in the text, and not
inside anything base64-encoded in it (proof openings are). What the visitor typed into the URL
is not a leak when the answer echoes it.

A route that turns the anonymous visitor away (401, 403) ten times running is not asked the
rest of its list: it is closed, whatever the id.
"""

import base64
import binascii
import json
import re
import secrets
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import ahocorasick
import httpx
import orjson
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.web.conftest import City

from xinyong.app import create_app
from xinyong.clock import china_today
from xinyong.config import Settings
from xinyong.enforcement.models import EntryRow
from xinyong.ledger.service import ledger_size
from xinyong.ledger.worker import sign_checkpoint_if_keyed
from xinyong.policy import Pack
from xinyong.records.models import Record, RecordHead, Subject
from xinyong.search.publicity import black_lists, is_public
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing.demo import build_demo

RESIDENT_ID = re.compile(r"(?<![0-9A-Z])\d{17}[\dX](?![0-9A-Z])")
BASE64 = re.compile(r"^[A-Za-z0-9+/]{24,}={0,2}$")
DISTINCTIVE = 6  # shorter values (names, grades, small numbers) recur by chance
# Days and ordinary numbers recur by chance too; long digit strings (accounts, ids) do not.
COMMONPLACE = re.compile(r"\d{4}-\d{2}-\d{2}(T[\d:.]+)?|[+-]?\d{1,10}(\.\d+)?")
SUBJECT_PARAMETERS = {"ref", "identifier"}
SAMPLE = 10  # one in SAMPLE identity numbers is tried as a subject ref and as a search query
SEARCHED_NAMES = 100
CLOSED_AFTER = 10


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@dataclass
class Secrets:
    """What no public answer may contain."""

    values: set[str]
    identity_numbers: set[str]
    automaton: Any = field(init=False)

    def __post_init__(self) -> None:
        self.automaton = ahocorasick.Automaton()
        for value in self.values:
            self.automaton.add_word(value, value)
        self.automaton.make_automaton()

    def found_in(self, text: str, asked: str = "") -> set[str]:
        leaked = {value for _, value in self.automaton.iter(text)}
        leaked |= set(RESIDENT_ID.findall(text)) & self.identity_numbers
        return {value for value in leaked if value not in asked}


def _public_day_record_keys(session: Any, pack: Pack, day: date) -> set[tuple[str, int]]:
    """(document key, version) of every record version the portal may show on ``day``, by the
    rule of docs/web.md: a public type at a published grade inside its period, the current
    version of a standing decision; a person's only while a published defaulter, and only the
    records that ground its entries in force."""
    heads = {
        key: (version, status)
        for key, version, status in session.execute(
            select(RecordHead.document_key, RecordHead.version, RecordHead.status)
        )
    }
    entries: dict[int, list[tuple[str, str]]] = {}
    for subject_id, list_code, document_key in session.execute(
        select(EntryRow.subject_id, EntryRow.list_code, EntryRow.document_key).where(
            EntryRow.started_on <= day, EntryRow.ended_on > day
        )
    ):
        entries.setdefault(subject_id, []).append((list_code, document_key))
    records = session.execute(
        select(Record, Subject.kind).join(Subject, Subject.id == Record.subject_id)
    ).all()
    public = {
        (record.document_key, record.version)
        for record, _ in records
        if heads.get(record.document_key) == (record.version, "active")
        and is_public(pack, record.record_type, record.severity, record.decided_on, "active", day)
    }
    by_key = {record.document_key: record for record, _ in records}
    shown: set[tuple[str, int]] = set()
    for record, kind in records:
        key = (record.document_key, record.version)
        if key not in public:
            continue
        if kind == "organisation":
            shown.add(key)
            continue
        grounds = [
            (code, document_key)
            for code, document_key in entries.get(record.subject_id, [])
            if document_key in by_key and (document_key, by_key[document_key].version) in public
        ]
        defaulter = any(code in black_lists(pack) for code, _ in grounds)
        if defaulter and record.document_key in {document_key for _, document_key in grounds}:
            shown.add(key)
    return shown


def _hidden_field(name: str, value: Any) -> bool:
    # The portal never shows a field naming another subject, nor a nested one.
    return name.endswith("_id") or isinstance(value, dict | list)


def collect_secrets(city: City, pack: Pack, seeded: Iterable[str]) -> Secrets:
    day = china_today()
    private: set[str] = set(seeded)
    public: list[str] = [pack.model_dump_json()]
    with city.factory() as session:
        shown = _public_day_record_keys(session, pack, day)
        for record in session.scalars(select(Record)):
            values = [record.document_no]
            for name, value in record.fields.items():
                if (record.document_key, record.version) in shown and not _hidden_field(
                    name, value
                ):
                    public.extend(_strings(value))
                else:
                    values.extend(_strings(value))
            if (record.document_key, record.version) in shown:
                public.append(record.document_no)
            else:
                private.update(values)
        public.extend(session.scalars(select(Subject.name)))
        persons = set(session.scalars(select(Subject.identifier).where(Subject.kind == "person")))
    corpus = "\x00".join(public)
    distinctive = {
        value
        for value in private
        if len(value) >= DISTINCTIVE and not COMMONPLACE.fullmatch(value) and value not in corpus
    }
    return Secrets(distinctive, persons)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def _same_site(link: str) -> str | None:
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _decoded(body: Any) -> Iterator[str]:
    """Whatever base64 strings in a JSON answer decode to (proof openings, say)."""
    for text in _strings(body):
        if BASE64.match(text):
            try:
                yield base64.b64decode(text, validate=True).decode("utf-8", "ignore")
            except (binascii.Error, ValueError):
                continue


@dataclass
class Walk:
    answers: int = 0
    routes: set[str] = field(default_factory=set)
    closed: set[str] = field(default_factory=set)
    leaks: list[tuple[str, list[str]]] = field(default_factory=list)
    ledger_events: int = 0
    opened: list[str] = field(default_factory=list)


def _route_requests(app: FastAPI, fill: dict[str, list[str]]) -> Iterator[tuple[str, str]]:
    """(route path, URL) for every GET route, each parameter filled from ``fill`` ("1" when
    the walker knows nothing better: the route must still answer cleanly)."""
    for context in iter_route_contexts(app.routes):
        if not context.methods or "GET" not in context.methods or context.path is None:
            continue
        route = context.original_route
        required = (
            [p.alias for p in route.dependant.query_params if p.field_info.is_required()]
            if isinstance(route, APIRoute)
            else []
        )
        names = re.findall(r"{(\w+)(?::\w+)?}", context.path)
        combos: list[dict[str, str]] = [{}]
        for name in [*names, *required]:
            combos = [{**combo, name: value} for combo in combos for value in fill.get(name, ["1"])]
        for combo in combos:
            path = context.path
            for name in names:
                path = re.sub(r"{" + name + r"(?::\w+)?}", combo[name], path)
            query = "&".join(f"{name}={combo[name]}" for name in required)
            yield context.path, path + (f"?{query}" if query else "")


def walk(client: TestClient, app: FastAPI, fill: dict[str, list[str]], hidden: Secrets) -> Walk:
    """The walk, its requests sent from the opened ``client``'s event loop, where the app runs
    (its lifespan run by the client): sent through the client from this thread, each of the
    thousands of requests crosses between the threads at every message of the exchange and
    waits for the interpreter lock at each crossing."""
    assert client.portal is not None, "the client is opened (with TestClient(app) as client)"
    return client.portal.call(_walk, app, fill, hidden)


async def _walk(app: FastAPI, fill: dict[str, list[str]], hidden: Secrets) -> Walk:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", follow_redirects=True
    ) as client:
        return await _walked(client, app, fill, hidden)


async def _walked(
    client: httpx.AsyncClient, app: FastAPI, fill: dict[str, list[str]], hidden: Secrets
) -> Walk:
    done = Walk()
    seen: set[str] = set()
    refusals: dict[str, int] = {}
    queue: deque[tuple[str, str]] = deque(_route_requests(app, fill))
    while queue:
        route, url = queue.popleft()
        if url in seen or route in done.closed:
            continue
        seen.add(url)
        done.routes.add(route)
        answer = await client.get(url)
        done.answers += 1
        assert answer.status_code < 500, (url, answer.status_code, answer.text[:300])
        if answer.status_code in (401, 403):
            refusals[route] = refusals.get(route, 0) + 1
            if refusals[route] >= CLOSED_AFTER:
                done.closed.add(route)
        else:
            refusals[route] = -(10**9)  # it answered someone: walk all of it
        text = answer.text
        if "json" in answer.headers.get("content-type", ""):
            body = answer.json()
            text += "\n".join(_decoded(body))
            if route == "/v1/ledger/proof/inclusion" and answer.status_code == 200:
                done.ledger_events += 1
                if body["event"] is not None:  # the ledger's own route opens nothing
                    done.opened.append(url)
        leaked = hidden.found_in(text, asked=unquote(url))
        if leaked:
            done.leaks.append((url, sorted(leaked)[:3]))
        if "html" in answer.headers.get("content-type", ""):
            parser = _Links()
            parser.feed(text)
            for link in parser.links:
                target = _same_site(link)
                if target is not None and target not in seen:
                    queue.append((urlsplit(target).path, target))
    return done


@dataclass
class Seeded:
    secrets: list[str]
    staff_reads: int


def _seed(city: City, app: FastAPI) -> Seeded:
    """What insiders leave in the store: staff reads with their purposes, an objection with its
    grounds, a relying party's check with its purpose; then the checkpoint a running service
    would sign."""
    marker = secrets.token_hex(6)
    accounts = {
        account["username"]: account
        for account in json.loads((city.settings.var_dir / "demo" / "accounts.json").read_text())
    }
    keys = orjson.loads((city.settings.var_dir / "demo" / "keys.json").read_bytes())
    relying_party = next(key["key"] for key in keys if key["role"] == "relying_party")
    planted: list[str] = []
    with TestClient(app) as insider:

        def token(username: str) -> dict[str, str]:
            answer = insider.post(
                "/v1/auth/login",
                json={"username": username, "password": accounts[username]["password"]},
            )
            assert answer.status_code == 200, answer.text
            return {"Authorization": f"Bearer {answer.json()['token']}"}

        reviewer, defaulter = token("demo-reviewer"), token("demo-defaulter")
        subjects = [accounts["demo-defaulter"]["subject"], accounts["demo-org-rep"]["subject"]]
        for number, subject in enumerate(subjects):
            purpose = f"walk purpose {marker} staff read {number}"
            read = insider.get(
                f"/v1/subjects/{subject}", headers={**reviewer, "X-Purpose": purpose}
            )
            assert read.status_code == 200, read.text
            planted.append(purpose)
        file = insider.get("/v1/me/file", headers=defaulter).json()
        grounds = f"walk grounds {marker}: this listing is wrong"
        record = file["records"][0]
        objection = insider.post(
            "/v1/me/objections",
            data={
                "grounds": grounds,
                "record": f"{record['authority']}|{record['record_type']}|{record['document_no']}",
            },
            headers=defaulter,
        )
        assert objection.status_code == 201, objection.text
        planted.append(grounds)
        purpose = f"walk check purpose {marker}"
        check = insider.post(
            "/v1/checks",
            json={"subject_id": subjects[0], "action": "buy_air_ticket", "purpose": purpose},
            headers={"Authorization": f"Bearer {relying_party}"},
        )
        assert check.status_code == 200, check.text
        planted.append(purpose)
    sign_checkpoint_if_keyed(city.factory, city.settings.ledger_key_path)
    return Seeded(planted, len(subjects))


# Every public route of a demo city, walked end to end: `make test` runs it, the quick loop
# does not. One worker builds the walked city for both tests (under xdist each worker builds
# its own module fixtures: two workers built it twice, half a minute each).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("public-walk")]


@pytest.fixture(scope="module")
def small_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    """A city of its own, small enough to walk whole, that the walk's insiders may change."""
    var = tmp_path_factory.mktemp("walked-city")
    built = build_demo(var, persons=500, orgs=50)
    assert built.returncode == 0, built.stderr
    settings = Settings(var_dir=var, database_url="")
    engine = make_engine(settings.resolved_database_url())
    yield City(settings, make_sessionmaker(engine))
    engine.dispose()


@pytest.fixture(scope="module")
def small_app(small_city: City) -> FastAPI:
    return create_app(small_city.settings)


@pytest.fixture(scope="module")
def walked(small_city: City, small_app: FastAPI, national: Pack) -> tuple[Walk, Secrets, int]:
    own_city, own_app = small_city, small_app
    seeded = _seed(own_city, own_app)
    hidden = collect_secrets(own_city, national, seeded.secrets)
    with own_city.factory() as session:
        subjects = session.execute(select(Subject.id, Subject.identifier, Subject.kind)).all()
        events = ledger_size(session)
        names = list(session.scalars(select(Subject.name).limit(SEARCHED_NAMES)))
    numbers = sorted(hidden.identity_numbers)[::SAMPLE]
    refs = [str(subject_id) if kind == "person" else code for subject_id, code, kind in subjects]
    fill = {
        **{name: refs + numbers for name in SUBJECT_PARAMETERS},
        "event": [str(event) for event in range(events + 1)],
        "from": ["0", "1", str(events)],
        "q": numbers + [quote(name) for name in names],
        "section": ["entries", "checks", "records", "nothing"],
    }
    with TestClient(own_app) as outsider:
        return walk(outsider, own_app, fill, hidden), hidden, events


def test_an_outsider_finds_nothing_the_public_may_not_see(
    walked: tuple[Walk, Secrets, int], small_app: FastAPI
) -> None:
    done, hidden, events = walked
    print(
        f"\npublic walk: {done.answers} answers over {len(done.routes)} routes "
        f"({len(done.closed)} closed to outsiders), "
        f"{done.ledger_events} ledger proofs of {events} events; "
        f"{len(hidden.values)} private values and {len(hidden.identity_numbers)} identity "
        f"numbers sought; {len(done.leaks)} leaks"
    )
    assert not done.leaks, done.leaks[:5]
    assert not done.opened, done.opened[:5]
    assert done.ledger_events == events  # every event has a proof
    every_get = {
        context.path
        for context in iter_route_contexts(small_app.routes)
        if context.methods and "GET" in context.methods
    }
    assert every_get <= done.routes, every_get - done.routes


def test_the_walk_would_see_a_leak(walked: tuple[Walk, Secrets, int]) -> None:
    """The detector is not blind: a private value or an identity number, plain or base64."""
    _, hidden, _ = walked
    value = next(iter(hidden.values))
    number = next(iter(hidden.identity_numbers))
    assert hidden.found_in(f"<td>{value}</td>") == {value}
    assert hidden.found_in(f'{{"id": "{number}"}}') == {number}
    encoded = base64.b64encode(orjson.dumps({"x": value})).decode()
    assert value in "\n".join(_decoded({"disclosed": [encoded]}))

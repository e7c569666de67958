"""The API against its own contract: schemathesis generates requests for every operation of the
OpenAPI document, valid ones and invalid ones, each sent with the credentials of a caller the
operation admits; no answer may be a server error or differ from the documented schema.
On SQLite and PostgreSQL.

The operations are driven here one by one with schemathesis's strategies (its pytest loader for
fixtures does not run under this pytest), every failure of every operation is collected, and
the run is bounded: ``EXAMPLES`` valid and ``EXAMPLES`` invalid requests per operation, after
the request the route matrix makes, with the city's own values (a generated identifier seldom
names anything, so answers such as a public proof or a review case are checked this way).

Each request is generated once and sent to both stores, each furnished the same way: drawing a
request from the schema costs as much as answering it, and what a backend makes of a value (a
NUL, a number past 64 bits) is a matter of the request, not of how it was drawn.
"""

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import response_schema_conformance
from tests.app.conftest import PASSWORD, Site, furnish, running_site
from tests.app.test_route_matrix import (
    CALLS,
    PURPOSE,
    ROLES,
    SESSION_ENDING,
    Call,
    expected,
    status,
)

from xinyong.accounts.service import login
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing.postgres import migrated_database
from xinyong.testing.store import migrated_sqlite

EXAMPLES = 8
"""Requests drawn per operation and mode: each run draws others (no example database), so runs
add up; eight of each, on both stores, are about forty seconds of the suite's processor time."""

# A report is verified by uploading the PDF itself: any bytes, and bytes that start as a PDF does.
schemathesis.openapi.media_type(
    "application/pdf",
    st.one_of(
        st.binary(max_size=4096),
        st.binary(max_size=4096).map(lambda tail: b"%PDF-1.7\n" + tail),
    ),
)


def admitted_role(cells: dict[str, str]) -> str | None:
    """The first caller the route admits: one it answers with neither 401 nor 403, whatever it
    then makes of the matrix's request (None: a route for anyone needs no credential)."""
    admitted = [role for role in ROLES if status(cells[role]) not in (401, 403)]
    return None if not admitted or admitted[0] == "anonymous" else admitted[0]


def city_case(operation: APIOperation, city: dict[str, str]) -> Case:
    """The request the route matrix makes of ``operation``."""
    call = CALLS.get((operation.method.upper(), operation.path), Call())
    body, media_type = (
        (call.json, "application/json") if call.data is None else (call.data, "multipart/form-data")
    )
    return operation.Case(
        path_parameters={name: city[name] for name in re.findall(r"{(\w+)}", operation.path)},
        query={name: value.format(**city) for name, value in (call.query or {}).items()},
        headers=PURPOSE,
        **({} if body is None else {"body": body, "media_type": media_type}),
    )


@pytest.fixture
def cities(
    tmp_path: Path, postgres_admin_url: str
) -> Iterator[dict[str, tuple[Site, dict[str, str]]]]:
    """By backend: the app over a store furnished as the route matrix's city, and its values."""
    urls = {
        "sqlite": migrated_sqlite(tmp_path / "store.db"),
        "postgres": migrated_database(postgres_admin_url, "fuzzed"),
    }
    with ExitStack() as stack:
        found: dict[str, tuple[Site, dict[str, str]]] = {}
        for backend, url in urls.items():
            engine = make_engine(url)
            stack.callback(engine.dispose)
            site = stack.enter_context(
                running_site(url, make_sessionmaker(engine), tmp_path / backend)
            )
            found[backend] = (site, furnish(site))
        yield found


def described(failure: BaseException) -> str:
    """A failure with its notes, and each failure of a group after it."""
    lines = [f"{type(failure).__name__}: {failure}", *getattr(failure, "__notes__", [])]
    if isinstance(failure, BaseExceptionGroup):
        lines += [described(one) for one in failure.exceptions]
    return "\n".join(lines)


# Minutes of requests, every operation of the API: `make test` runs it, the quick loop does not.
@pytest.mark.slow
@pytest.mark.postgres
def test_no_server_error_and_every_answer_as_documented(
    cities: dict[str, tuple[Site, dict[str, str]]],
) -> None:
    # One schema, the same on both apps: its operations' requests are sent to either.
    schema = schemathesis.openapi.from_asgi("/openapi.json", cities["sqlite"][0].app)
    table = expected()
    sent: Counter[str] = Counter()
    failures: dict[str, str] = {}

    def call(case: Case, site: Site, backend: str) -> int:
        route = (case.operation.method.upper(), case.operation.path)
        role = admitted_role(table[route])
        headers = {}
        if role is not None:
            token = site.bearer[role]
            if route in SESSION_ENDING:
                with site.factory.begin() as session:
                    token = login(session, role, PASSWORD)
            headers["Authorization"] = f"Bearer {token}"
        sent[f"{case.operation.label} {backend}"] += 1
        answer = case.call_and_validate(
            headers=headers, checks=[not_a_server_error, response_schema_conformance], app=site.app
        )
        return answer.status_code

    def fuzzed(case: Case) -> None:
        # Both backends see every request, the first's failure does not hide the second's.
        found: dict[str, Exception] = {}
        for backend, (site, _) in cities.items():
            try:
                call(case, site, backend)
            except Exception as failure:
                failure.add_note(f"on {backend}")
                found[backend] = failure
        if found:
            raise ExceptionGroup(", ".join(found), list(found.values()))

    operations = [result.ok() for result in schema.get_all_operations()]
    # First, before fuzzing changes the city (decides its review case, say): the matrix's
    # answer to the same caller, so that the documented answers it reaches are checked
    # whatever the fuzzing draws.
    for operation in operations:
        cells = table[operation.method.upper(), operation.path]
        for backend, (site, city) in cities.items():
            try:
                code = call(city_case(operation, city), site, backend)
                assert code == status(cells[admitted_role(cells) or "anonymous"]), code
            except Exception as failure:
                failures[f"{operation.label} {backend} (the city's values)"] = str(failure)
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz = settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )(given(case=operation.as_strategy(generation_mode=mode))(fuzzed))
            try:
                fuzz()
            except Unsatisfiable:
                pass  # nothing to send wrong: the operation takes no parameter and no body
            # One operation's failure must not hide the next's (schemathesis reports a group).
            except (Exception, BaseExceptionGroup) as failure:
                failures[f"{operation.label} ({mode})"] = described(failure)
    print(f"{len(operations)} operations, {sum(sent.values())} requests")
    for label, failure in failures.items():
        print(f"--- {label}\n{failure}")
    assert sorted(failures) == []
    assert len(operations) * len(cities) == len(sent) >= 2 * 26

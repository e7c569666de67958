"""Who may do what: every route of the app's route table, asked by every kind of caller.

The expected answers are one row per route below. A route the table does not name fails the
test, so a new route cannot arrive without saying who may use it. Codes: 200/201/204 done;
303 a page sends the caller to sign in (pages know people only by the session cookie) or on;
401 no credential of the kind the route takes; 403 the wrong kind; 404 nothing of the caller's
there (another subject's record is answered as if it did not exist); 422 admitted, and the
request itself refused. ``200:N`` is 200 with N rows accepted: the two authority keys are the
market regulators of two districts, and a row about a firm registered in the other district is
refused in the answer, row by row (authority is jurisdiction). People send their session both
as a bearer token and as the cookie, with a CSRF token; keys as a bearer token.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.routing import Mount
from tests.app.conftest import PASSWORD, RECORD, SUBJECTS, Site

from xinyong.accounts.deps import COOKIE as SESSION_COOKIE
from xinyong.accounts.service import login
from xinyong.testing import samples
from xinyong.web import csrf

ROLES = (
    "anonymous",
    "relying_party",
    "authority_110105",
    "authority_110108",
    "subject_1",
    "subject_2",
    "operator",
    "reviewer",
    "auditor",
    "authority_staff",
)
KEYS = ("relying_party", "authority_110105", "authority_110108")

# fmt: off
#  method route                                       anon  rp a105 a108   s1   s2   op  rev  aud staff
MATRIX = """
GET    /                                              200  200  200  200  200  200  200  200  200  200
GET    /search                                        200  200  200  200  200  200  200  200  200  200
GET    /subjects/{ref}                                200  200  200  200  200  200  200  200  200  200
GET    /defaulters                                    200  200  200  200  200  200  200  200  200  200
GET    /publicity                                     200  200  200  200  200  200  200  200  200  200
GET    /lists                                         200  200  200  200  200  200  200  200  200  200
GET    /lists/{code}                                  200  200  200  200  200  200  200  200  200  200
GET    /stats                                         200  200  200  200  200  200  200  200  200  200
GET    /rules                                         200  200  200  200  200  200  200  200  200  200
GET    /commitments                                   200  200  200  200  200  200  200  200  200  200
GET    /help                                          200  200  200  200  200  200  200  200  200  200
GET    /help/{slug}                                   200  200  200  200  200  200  200  200  200  200
GET    /announcements                                 200  200  200  200  200  200  200  200  200  200
GET    /announcements/{slug}                          200  200  200  200  200  200  200  200  200  200
POST   /lang                                          303  303  303  303  303  303  303  303  303  303
GET    /sign-in                                       200  200  200  200  303  303  303  303  303  303
POST   /sign-in                                       401  401  401  401  401  401  401  401  401  401
POST   /sign-out                                      303  303  303  303  303  303  303  303  303  303
GET    /sign-in/reset                                 200  200  200  200  200  200  200  200  200  200
POST   /sign-in/reset                                 200  200  200  200  200  200  200  200  200  200
GET    /sign-in/reset/new                             200  200  200  200  200  200  200  200  200  200
POST   /sign-in/reset/new                             422  422  422  422  422  422  422  422  422  422
GET    /sign-in/oidc                                  403  403  403  403  403  403  403  403  403  403
GET    /sign-in/oidc/callback                         403  403  403  403  403  403  403  403  403  403
GET    /me                                            303  303  303  303  200  200  403  403  403  403
GET    /me/requests                                   303  303  303  303  200  200  403  403  403  403
GET    /me/objections/new                             303  303  303  303  200  404  403  403  403  403
POST   /me/objections                                 303  303  303  303  404  404  403  403  403  403
GET    /me/repairs/new                                303  303  303  303  200  404  403  403  403  403
POST   /me/repairs                                    303  303  303  303  404  404  403  403  403  403
GET    /console/reviews                               303  303  303  303  403  403  403  200  403  200
GET    /console/reviews/{case_id}                     303  303  303  303  403  403  403  200  403  200
GET    /console/reviews/{case_id}/evidence/{n}        303  303  303  303  403  403  403  200  403  200
POST   /console/reviews/{case_id}/decision            303  303  303  303  403  403  403  422  403  422
GET    /console/operator                              303  303  303  303  403  403  200  403  403  403
GET    /console/quarantine                            303  303  303  303  403  403  200  403  403  403
GET    /console/audit                                 303  303  303  303  403  403  403  403  200  403
GET    /console/audit/search                          303  303  303  303  403  403  403  403  200  403
GET    /console/audit/export                          303  303  303  303  403  403  403  403  200  403
GET    /docs                                          200  200  200  200  200  200  200  200  200  200
GET    /redoc                                         200  200  200  200  200  200  200  200  200  200
GET    /openapi.json                                  200  200  200  200  200  200  200  200  200  200
GET    /healthz                                       200  200  200  200  200  200  200  200  200  200
GET    /readyz                                        200  200  200  200  200  200  200  200  200  200
GET    /metrics                                       403  403  403  403  403  403  403  403  403  403
GET    /favicon.ico                                   200  200  200  200  200  200  200  200  200  200
GET    /robots.txt                                    200  200  200  200  200  200  200  200  200  200
GET    /static                                        200  200  200  200  200  200  200  200  200  200
POST   /v1/checks                                     401  200  403  403  401  401  401  401  401  401
POST   /v1/checks/batch                               401  200  403  403  401  401  401  401  401  401
POST   /v1/federation/batches                         401  403  403  403  401  401  401  401  401  401
GET    /v1/federation/batches/next                    401  403  403  403  401  401  401  401  401  401
POST   /v1/federation/witness/add-checkpoint          404  404  404  404  404  404  404  404  404  404
POST   /v1/submissions                                401  403 200:1 200:0 401  401  401  401  401  401
GET    /v1/ledger/key                                 200  200  200  200  200  200  200  200  200  200
GET    /v1/ledger/checkpoint                          200  200  200  200  200  200  200  200  200  200
GET    /v1/ledger/proof/inclusion                     200  200  200  200  200  200  200  200  200  200
GET    /v1/public/proof/inclusion                     200  200  200  200  200  200  200  200  200  200
GET    /v1/me/proof/inclusion                         401  403  403  403  200  404  403  403  403  403
GET    /v1/ledger/proof/consistency                   200  200  200  200  200  200  200  200  200  200
POST   /v1/auth/login                                 200  200  200  200  200  200  200  200  200  200
POST   /v1/auth/logout                                401  403  403  403  204  204  204  204  204  204
GET    /v1/me/file                                    401  403  403  403  200  200  403  403  403  403
GET    /v1/me/report.html                             401  403  403  403  200  200  403  403  403  403
GET    /v1/me/report.pdf                              401  403  403  403  200  200  403  403  403  403
GET    /v1/subjects/{identifier}                      401  403  403  403  403  403  200  200  200  200
POST   /v1/me/objections                              401  403  403  403  404  404  403  403  403  403
GET    /v1/me/requests                                401  403  403  403  200  200  403  403  403  403
GET    /v1/me/repairs/eligibility                     401  403  403  403  200  404  403  403  403  403
GET    /v1/me/objections/same-case                    401  403  403  403  200  404  403  403  403  403
POST   /v1/me/repairs/{case_id}/evidence              401  403  403  403  422  422  403  403  403  403
POST   /v1/me/repairs                                 401  403  403  403  404  404  403  403  403  403
GET    /v1/reviews                                    401  403  403  403  403  403  403  200  403  200
GET    /v1/reviews/{case_id}                          401  403  403  403  403  403  403  200  403  200
GET    /v1/reviews/{case_id}/evidence/{n}             401  403  403  403  403  403  403  200  403  200
POST   /v1/reviews/{case_id}/decision                 401  403  403  403  403  403  403  422  403  422
GET    /v1/public/search                              200  200  200  200  200  200  200  200  200  200
GET    /v1/public/subjects/{ref}                      200  200  200  200  200  200  200  200  200  200
GET    /v1/public/defaulters                          200  200  200  200  200  200  200  200  200  200
GET    /v1/actions                                    200  200  200  200  200  200  200  200  200  200
GET    /subjects/{ref}/report.html                    404  404  404  404  404  404  404  404  404  404
GET    /subjects/{ref}/report.pdf                     404  404  404  404  404  404  404  404  404  404
GET    /verify                                        200  200  200  200  200  200  200  200  200  200
POST   /verify                                        422  422  422  422  422  422  422  422  422  422
POST   /v1/verify                                     422  422  422  422  422  422  422  422  422  422
POST   /v1/verify/pdf                                 422  422  422  422  422  422  422  422  422  422
GET    /v1/verify/key                                 200  200  200  200  200  200  200  200  200  200
GET    /v1/stats                                      200  200  200  200  200  200  200  200  200  200
GET    /v1/stats/{section}                            200  200  200  200  200  200  200  200  200  200
GET    /v1/datasets                                   200  200  200  200  200  200  200  200  200  200
GET    /v1/datasets/{name}                            200  200  200  200  200  200  200  200  200  200
GET    /v1/datasets/{name}/{version}/{file}           200  200  200  200  200  200  200  200  200  200
GET    /v1/mirror/feed                                401  403  403  403  401  401  401  401  401  401
GET    /v1/mirror/feeds/{name}/{version}/{file}       401  403  403  403  401  401  401  401  401  401
POST   /v1/mirror/checks                              401  403  403  403  401  401  401  401  401  401
"""
# fmt: on

PURPOSE = {"X-Purpose": "route matrix"}
"""The purpose every caller states (a member of staff must, to read a subject's file)."""

SESSION_ENDING = {("POST", "/sign-out"), ("POST", "/v1/auth/logout")}
"""Routes that end the session they are sent: each person sends them a session of its own."""


@dataclass(frozen=True)
class Call:
    """The request a row makes: query (its values may name the city's values, as the path
    does), JSON body or form fields."""

    query: dict[str, str] | None = None
    json: Any = None
    data: dict[str, str] | None = None
    counted: str | None = None
    """The member of the JSON answer a ``200:N`` cell states."""
    path: dict[str, str] | None = None
    """Path parameters of this row's own, in place of the city's values of the same name."""


CALLS = {
    ("GET", "/search"): Call(query={"q": "北京"}),
    ("POST", "/lang"): Call(data={"lang": "en", "next": "/"}),
    # One unknown account per caller: sign-in is throttled per account name (docs/rights.md).
    ("POST", "/sign-in"): Call(data={"username": "nobody-{role}", "password": "not the password"}),
    ("POST", "/sign-in/reset"): Call(data={"username": "nobody-{role}"}),
    ("POST", "/sign-in/reset/new"): Call(data={"token": "xr_unknown", "password": "long enough"}),
    ("GET", "/me/objections/new"): Call(query={"record": RECORD}),
    ("POST", "/me/objections"): Call(data={"record": "999999", "grounds": "paid"}),
    ("GET", "/me/repairs/new"): Call(query={"record": RECORD}),
    ("POST", "/me/repairs"): Call(data={"record": "999999"}),
    ("POST", "/console/reviews/{case_id}/decision"): Call(
        data={"outcome": "granted", "reasons": "an objection is upheld or rejected"}
    ),
    ("POST", "/v1/checks"): Call(
        json={"subject_id": SUBJECTS[0], "action": "buy_air_ticket", "purpose": "ticket sale"}
    ),
    ("POST", "/v1/checks/batch"): Call(
        json={
            "purpose": "ticket sale",
            "items": [{"subject_id": SUBJECTS[0], "action": "buy_air_ticket"}],
        }
    ),
    # A firm registered in Chaoyang, the key naming the authority: Chaoyang's regulator may
    # register it, Haidian's may not.
    ("POST", "/v1/submissions"): Call(
        json=[{**samples.registration(samples.organisation(1), SUBJECTS[0], 1), "authority": None}],
        counted="accepted",
    ),
    ("GET", "/v1/ledger/proof/inclusion"): Call(query={"event": "{event}"}),
    # The first subject's public record: the public proof is anyone's, the opened one its own.
    ("GET", "/v1/public/proof/inclusion"): Call(query={"event": "{event}"}),
    ("GET", "/v1/me/proof/inclusion"): Call(query={"event": "{event}"}),
    ("GET", "/v1/ledger/proof/consistency"): Call(query={"from": "{tree_size}"}),
    ("POST", "/v1/auth/login"): Call(json={"username": "matrix", "password": PASSWORD}),
    ("POST", "/v1/me/objections"): Call(data={"record": "999999", "grounds": "paid"}),
    ("GET", "/v1/me/repairs/eligibility"): Call(query={"record": RECORD}),
    ("GET", "/v1/me/objections/same-case"): Call(query={"record": RECORD}),
    ("GET", "/console/audit/export"): Call(query={"from": "2026-01-01", "to": "2026-01-31"}),
    ("POST", "/v1/me/repairs"): Call(
        json={"record": "999999", "commitment_signed": True, "commitment": "I will comply."}
    ),
    ("POST", "/v1/reviews/{case_id}/decision"): Call(
        json={"outcome": "granted", "reasons": "an objection is upheld or rejected"}
    ),
    ("GET", "/v1/public/search"): Call(query={"q": "北京"}),
    ("GET", "/announcements/{slug}"): Call(path={"slug": "credit-repair-measures-2026"}),
    ("POST", "/v1/mirror/checks"): Call(json={"key": "k", "batch": "{}", "signature": "s"}),
}


def expected() -> dict[tuple[str, str], dict[str, str]]:
    rows = {}
    for line in MATRIX.strip().splitlines():
        method, route, *cells = line.split()
        assert len(cells) == len(ROLES), line
        rows[method, route] = dict(zip(ROLES, cells, strict=True))
    return rows


def status(cell: str) -> int:
    """The status code a cell expects (``200:1`` expects 200)."""
    return int(cell.partition(":")[0])


def route_table(site: Site) -> Iterator[tuple[str, str]]:
    """Every (method, path) the app answers, HEAD aside (it is GET without the body)."""
    for route in iter_route_contexts(site.app.routes):
        if isinstance(route.original_route, Mount):
            yield "GET", route.original_route.path
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            yield method, str(route.path_format)


def _credentials(site: Site, role: str, fresh: bool) -> tuple[dict[str, str], dict[str, str]]:
    """Headers and cookies of ``role``: a key as a bearer token; a person's session as a bearer
    token and as the cookie (a new session when ``fresh``); a CSRF token for everyone."""
    token = "matrix-csrf-token"
    headers = {csrf.HEADER: token, **PURPOSE}
    cookies = {csrf.COOKIE: token}
    if role == "anonymous":
        return headers, cookies
    if role in KEYS:
        return {**headers, **site.headers(role)}, cookies
    session_token = site.bearer[role]
    if fresh:
        with site.factory.begin() as session:
            session_token = login(session, role, PASSWORD)
    headers["Authorization"] = f"Bearer {session_token}"
    return headers, {**cookies, SESSION_COOKIE: session_token}


def test_every_route_answers_every_role_as_the_table_says(site: Site, city: dict[str, str]) -> None:
    table = expected()
    routes = list(route_table(site))
    assert sorted(set(routes) - set(table)) == [], "routes without a row in MATRIX"
    assert sorted(set(table) - set(routes)) == [], "rows of MATRIX for routes that do not exist"
    wrong = []
    for method, route in routes:
        call = CALLS.get((method, route), Call())
        values = {**city, **(call.path or {})}
        path = route.format(**values) if route != "/static" else "/static/site.css"
        for role, cell in table[method, route].items():
            headers, cookies = _credentials(site, role, (method, route) in SESSION_ENDING)
            site.client.cookies.clear()
            site.client.cookies.update(cookies)
            answer = site.client.request(
                method,
                path,
                params={name: value.format(**city) for name, value in (call.query or {}).items()},
                json=call.json,
                data=None
                if call.data is None
                else {name: value.format(**city, role=role) for name, value in call.data.items()},
                headers=headers,
                follow_redirects=False,
            )
            got = str(answer.status_code)
            if call.counted is not None and answer.is_success:
                got += f":{answer.json()[call.counted]}"
            if got != cell:
                wrong.append(f"{method} {route} as {role}: {got}, not {cell}")
    assert wrong == []

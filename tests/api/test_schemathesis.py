"""The API against its own contract: schemathesis generates requests for every operation of the
OpenAPI document, valid ones and invalid ones, each sent with the credentials of a caller the
operation admits; no answer may be a server error or differ from the documented schema.
On SQLite and PostgreSQL.

The operations are driven here one by one with schemathesis's strategies (its pytest loader for
fixtures does not run under this pytest), every failure of every operation is collected, and
the run is bounded: ``EXAMPLES`` valid and ``EXAMPLES`` invalid requests per operation.
"""

from collections import Counter

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance
from tests.api.conftest import PASSWORD, Site
from tests.api.test_route_matrix import ROLES, SESSION_ENDING, expected

from xinyong.accounts.service import login

EXAMPLES = 20


def admitted_role(codes: dict[str, int]) -> str | None:
    """The first caller the route serves (None: a route for anyone needs no credential)."""
    served = [role for role in ROLES if 200 <= codes[role] < 300]
    return None if not served or served[0] == "anonymous" else served[0]


def test_no_server_error_and_every_answer_as_documented(site: Site, city: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", site.app)
    table = expected()
    sent: Counter[str] = Counter()
    failures: dict[str, str] = {}

    def call(case: Case) -> None:
        route = (case.operation.method.upper(), case.operation.path)
        role = admitted_role(table[route])
        headers = {}
        if role is not None:
            token = site.bearer[role]
            if route in SESSION_ENDING:
                with site.factory.begin() as session:
                    token = login(session, role, PASSWORD)
            headers["Authorization"] = f"Bearer {token}"
        sent[case.operation.label] += 1
        case.call_and_validate(
            headers=headers, checks=[not_a_server_error, response_schema_conformance]
        )

    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz = settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )(given(case=operation.as_strategy(generation_mode=mode))(call))
            try:
                fuzz()
            except Unsatisfiable:
                pass  # nothing to send wrong: the operation takes no parameter and no body
            # One operation's failure must not hide the next's (schemathesis reports a group).
            except (Exception, BaseExceptionGroup) as failure:
                failures[f"{operation.label} ({mode})"] = str(failure)
    print(f"{len(operations)} operations, {sum(sent.values())} requests")
    for label, failure in failures.items():
        print(f"--- {label}\n{failure}")
    assert sorted(failures) == []
    assert len(operations) == len(sent) >= 26

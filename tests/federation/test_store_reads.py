"""A neighbour's batch and a link's scan read what they concern, not the store.

On SQLite, every statement a province runs to apply its city's batches (new documents, a mark,
a correction, a withdrawal) and to read what each link forwards must reach the store's tables
by a key, beside records of several types already stored (``xinyong.testing.plans``).
"""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import utc_now
from xinyong.federation.inbox import Inbox
from xinyong.federation.links import link_named
from xinyong.federation.outbox import scan
from xinyong.ingest.service import IngestJob
from xinyong.policy import Pack
from xinyong.testing import samples
from xinyong.testing.plans import statement_plans

from .test_inbox import batch, inbox, item, listing  # noqa: F401  (the fixture)

# The plans are SQLite's: the shared store fixture on SQLite only.
pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


def _store_here(factory: sessionmaker[Session], national: Pack) -> None:
    organisation, person = samples.organisation(1), samples.person(40)
    rows = [
        samples.registration(organisation, person, 40),
        samples.blood_donation(person, 41),
        samples.consumption_restriction(samples.person(42), 42),
        listing(43),
    ]
    with factory.begin() as session:
        IngestJob(factory, national).run_in(
            session,
            [(number, "", row) for number, row in enumerate(rows, start=1)],
            channel="api",
            source_name="own",
            digest="0" * 64,
            key_id=None,
        )


def test_applying_batches_and_scanning_links_read_no_table_or_record_type_whole(
    inbox: Inbox,  # noqa: F811
    national: Pack,
) -> None:
    _store_here(inbox.factory, national)
    earlier = utc_now() - timedelta(hours=1)
    mark: dict[str, Any] = {
        "position": 3,
        "kind": "disputed",
        "origin": "chaoyang",
        "at": earlier.isoformat(),
        "document": {
            name: listing(1)[name] for name in ("authority", "record_type", "document_no")
        },
    }
    first = batch(1, [item(1), item(2), mark])
    second = batch(
        2,
        [
            item(2, kind="corrected", accepted=("chaoyang", 22, earlier), amount=99000.0),
            item(1, kind="withdrawn", accepted=("chaoyang", 11, earlier)),
        ],
        previous=first.header.digest,
    )
    child = link_named(inbox.settings, "chaoyang")
    assert child is not None
    engine: Engine = inbox.factory.kw["bind"]
    with statement_plans(engine) as plans:
        for sent in (first, second):
            outcome = inbox.receive("chaoyang", sent.body(), utc_now())
            assert outcome.rejected == 0, outcome.refusals
        with inbox.factory() as session:
            found = scan(session, national, "beijing", child, -1, 100)

    # Down to the city: the listed documents stored here, never its own back.
    assert [entry["record"]["document_no"] for entry in found.items] == [
        "(2024)京0105执42号",
        listing(43)["document_no"],
    ]
    assert plans.steps and plans.whole_store_reads() == {}

"""Property: any sequence of submit / correct / withdraw rows, in any batch size, leaves the store
in the state a plain model of the rules predicts, and feeding it again changes nothing."""

from datetime import date
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import load_shipped
from xinyong.records.models import Record, RecordHead
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.store import migrated_sqlite

SUBJECT = samples.person(1)
operations = st.lists(
    st.tuples(
        st.sampled_from(["submit", "correct", "withdraw"]), st.integers(1, 3), st.integers(1, 3)
    ),
    min_size=1,
    max_size=14,
)


def row(op: str, document: int, amount: int) -> dict[str, Any]:
    if op == "withdraw":
        return {
            "op": op,
            "record_type": "court.defaulter_listing",
            "subject_id": SUBJECT,
            "authority": "court.110105",
            "document_no": f"(2024)京0105执{document}号",
        }
    return samples.defaulter_listing(SUBJECT, document, op=op, amount=float(amount))


def model(ops: list[tuple[str, int, int]]) -> dict[int, tuple[list[int], str]]:
    """Per document: the amounts of its versions in order, and its status."""
    state: dict[int, tuple[list[int], str]] = {}
    for op, document, amount in ops:
        versions, status = state.get(document, ([], "active"))
        if op == "withdraw":
            if versions:
                state[document] = (versions, "withdrawn")
        elif amount in versions:
            continue  # the same content again is a duplicate
        elif (op == "submit" and not versions) or (
            op == "correct" and versions and status == "active"
        ):
            state[document] = ([*versions, amount], status)
    return state


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations, batch_size=st.integers(1, 5))
def test_the_store_follows_the_model_and_replays_are_idempotent(
    tmp_path_factory: Any, ops: list[tuple[str, int, int]], batch_size: int
) -> None:
    folder: Path = tmp_path_factory.mktemp("prop")
    url = migrated_sqlite(folder / "s.db")
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    path = folder / "ops.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row(*op)) + b"\n" for op in ops))
    job = IngestJob(
        factory, load_shipped("national"), today=date(2026, 11, 1), batch_size=batch_size
    )

    def state() -> dict[int, tuple[list[int], str]]:
        with factory() as session:
            heads = dict(session.execute(select(RecordHead.document_key, RecordHead.status)).all())
            versions = session.execute(
                select(Record.document_no, Record.amount).order_by(
                    Record.document_no, Record.version
                )
            ).all()
        out: dict[int, tuple[list[int], str]] = {}
        for document_no, amount in versions:
            number = int(document_no.removeprefix("(2024)京0105执").removesuffix("号"))
            key = f"court.110105|court.defaulter_listing|{document_no}"
            amounts, _ = out.get(number, ([], heads[key]))
            out[number] = ([*amounts, int(amount)], heads[key])
        return out

    for _ in range(2):
        digest, _ = scan_file(path)
        job.run_file(path, digest=digest, report_dir=folder)  # the second run replays the file
        assert state() == model(ops)
    engine.dispose()

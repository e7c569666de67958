"""The populations a scorecard meets: the synthetic borrowers it is trained on (features and
default outcome) and the persons in today's store (features only), for monitoring.

Both group records by subject and hand each subject's own records to ``features_of``, so a
feature never mixes two subjects.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.policy import Domain, Pack
from xinyong.records.models import Record, RecordHead, Subject
from xinyong.scorecard.features import features_of
from xinyong.scoring.facts import RecordFact, record_fact
from xinyong.synth.records import CityRecords, ProgressCallback

ACTIVE = "active"


@dataclass(frozen=True, slots=True)
class TrainingPopulation:
    """Borrowers of a synthetic city: features, the default outcome (1) or not (0), and where
    they came from."""

    subject_ids: tuple[str, ...]
    features: tuple[dict[str, float], ...]
    outcomes: tuple[int, ...]
    source: dict[str, Any]

    @property
    def digest(self) -> str:
        """sha256 of the training data (subject, features, outcome, in subject order)."""
        digest = hashlib.sha256()
        for subject, features, outcome in zip(
            self.subject_ids, self.features, self.outcomes, strict=True
        ):
            values = [None if math.isnan(value) else value for value in features.values()]
            digest.update(orjson.dumps([subject, values, outcome]))
        return digest.hexdigest()


def financial_types(pack: Pack) -> list[str]:
    return sorted(
        code for code, item in pack.record_types.items() if item.domain is Domain.FINANCIAL
    )


def synthetic_population(
    pack: Pack,
    persons: int,
    seed: int,
    as_of: date,
    progress: ProgressCallback | None = None,
) -> TrainingPopulation:
    """The borrowers of the synthetic city of ``persons`` people (seed ``seed``): the
    current version of each financial record they have on ``as_of``, and their outcome.

    The rows are read as ingest would take them: a malformed row is dropped, a correction
    replaces its record and a withdrawal removes it.
    """
    city = CityRecords(pack, persons, 0, seed, as_of)
    wanted = set(financial_types(pack))
    current: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in city.rows(progress):
        record = row.record
        if row.defect is not None or record["record_type"] not in wanted:
            continue
        key = (record["authority"], record["record_type"], record["document_no"])
        if record.get("op") == "withdraw":
            current.pop(key, None)
        else:
            current[key] = record
    by_subject: dict[str, list[RecordFact]] = defaultdict(list)
    for number, record in enumerate(current.values()):
        fact = _fact(pack, number, record)
        if fact is not None:
            by_subject[record["subject_id"]].append(fact)
    ids: list[str] = []
    rows: list[dict[str, float]] = []
    outcomes: list[int] = []
    for subject_id, defaulted in sorted(city.outcomes()):
        ids.append(subject_id)
        rows.append(features_of(by_subject.get(subject_id, ())))
        outcomes.append(int(defaulted))
    source = {
        "kind": "synthetic city",
        "pack": pack.policy_version,
        "persons": persons,
        "seed": seed,
        "as_of": as_of.isoformat(),
    }
    return TrainingPopulation(tuple(ids), tuple(rows), tuple(outcomes), source)


def _fact(pack: Pack, number: int, record: dict[str, Any]) -> RecordFact | None:
    return record_fact(
        pack,
        record_id=number,
        document_no=record["document_no"],
        record_type=record["record_type"],
        severity=record["severity"],
        amount=record.get("amount"),
        fields=record["fields"],
        decided_on=date.fromisoformat(record["decided_on"]),
        effective_on=date.fromisoformat(record["effective_on"]),
        status=ACTIVE,
    )


def _financial_records(
    pack: Pack, as_of: date, identifier: str | None = None
) -> Select[Record, str]:
    """Current, not withdrawn financial records of persons in effect on ``as_of``, by subject
    (of the one subject ``identifier`` when given)."""
    query = (
        select(Record, RecordHead.status)
        .join(RecordHead, RecordHead.record_id == Record.id)
        .join(Subject, Subject.id == Record.subject_id)
        .where(
            Subject.kind == "person",
            RecordHead.status == ACTIVE,
            Record.record_type.in_(financial_types(pack)),
            Record.effective_on <= as_of,
        )
        .order_by(Record.subject_id, Record.id)
    )
    return query if identifier is None else query.where(Subject.identifier == identifier)


def store_population(
    factory: sessionmaker[Session], pack: Pack, as_of: date
) -> Iterator[dict[str, float]]:
    """The features of every person in the store with a financial record in effect on
    ``as_of`` (current versions, withdrawn records left out), one person at a time."""
    with factory() as session:
        rows = ((row[0], row[1]) for row in session.execute(_financial_records(pack, as_of)))
        yield from _by_subject(pack, rows)


def subject_features(
    factory: sessionmaker[Session], pack: Pack, identifier: str, as_of: date
) -> dict[str, float] | None:
    """The features of one person on ``as_of``; ``None`` without a financial record then."""
    with factory() as session:
        result = session.execute(_financial_records(pack, as_of, identifier))
        return next(_by_subject(pack, ((row[0], row[1]) for row in result)), None)


def _by_subject(pack: Pack, rows: Iterable[tuple[Record, str]]) -> Iterator[dict[str, float]]:
    subject: int | None = None
    facts: list[RecordFact] = []
    for record, status in rows:
        if record.subject_id != subject and facts:
            yield features_of(facts)
            facts = []
        subject = record.subject_id
        fact = record_fact(
            pack,
            record_id=record.id,
            document_no=record.document_no,
            record_type=record.record_type,
            severity=record.severity,
            amount=float(record.amount) if record.amount is not None else None,
            fields=record.fields,
            decided_on=record.decided_on,
            effective_on=record.effective_on,
            status=status,
        )
        if fact is not None:
            facts.append(fact)
    if facts:
        yield features_of(facts)

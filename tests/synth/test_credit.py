"""Credit histories: borrowers' financial records and the default outcome beside them."""

import csv
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import orjson

from xinyong.policy import Domain, Pack, load_shipped
from xinyong.synth import MANIFEST, OUTCOMES, generate
from xinyong.synth.credit import CreditHistories, default_probability
from xinyong.synth.records import CityRecords

AS_OF = date(2026, 11, 1)


def test_the_outcomes_file_lists_each_borrower_once_beside_their_records(tmp_path: Path) -> None:
    pack = load_shipped("national")
    generate(tmp_path, 2_000, 50, 3, "jsonl", AS_OF)
    with (tmp_path / OUTCOMES).open(encoding="utf-8", newline="") as handle:
        outcomes = {row["subject_id"]: int(row["defaulted"]) for row in csv.DictReader(handle)}
    manifest = orjson.loads((tmp_path / MANIFEST).read_bytes())
    assert manifest["outcomes"] == {
        "file": OUTCOMES,
        "months": 12,
        "borrowers": len(outcomes),
        "defaulted": sum(outcomes.values()),
    }
    assert 0.15 * 2_000 < len(outcomes) < 0.35 * 2_000
    assert 0.04 < sum(outcomes.values()) / len(outcomes) < 0.2
    financial: dict[str, Counter[str]] = defaultdict(Counter)
    for row in CityRecords(pack, 2_000, 50, 3, AS_OF).rows():
        record = row.record
        # The outcome is never a record.
        assert "defaulted" not in record and "defaulted" not in (record.get("fields") or {})
        kind = pack.record_types.get(record.get("record_type"))
        if (
            row.defect is None
            and kind is not None
            and kind.domain is Domain.FINANCIAL
            and record["subject_id"][:2] == "11"
        ):
            financial[record["subject_id"]][record["record_type"]] += 1
    assert set(financial) <= set(outcomes)
    assert len(financial) > 0.95 * len(outcomes)


def test_records_and_outcome_both_follow_the_latent_risk(tmp_path: Path) -> None:
    """Riskier borrowers have more overdue events and default more often."""
    histories = CreditHistories(5, AS_OF)
    low, high = [], []
    for index in range(4_000):
        risk = histories.risk(index)
        if risk is None:
            continue
        events = histories.history(histories.rng(index), risk, date(2021, 11, 1))
        overdue = sum(event.record_type == "bank.loan_default" for event in events)
        (high if risk > 1 else low if risk < -1 else []).append(
            (overdue, histories.defaulted(index, risk))
        )
    assert sum(o for o, _ in high) / len(high) > 4 * sum(o for o, _ in low) / len(low)
    assert sum(d for _, d in high) / len(high) > 4 * sum(d for _, d in low) / len(low)
    assert default_probability(2.0) > default_probability(0.0) > default_probability(-2.0)


def test_the_same_seed_gives_the_same_histories() -> None:
    first, second = CreditHistories(9, AS_OF), CreditHistories(9, AS_OF)
    for index in range(300):
        risk = first.risk(index)
        assert risk == second.risk(index)
        if risk is not None:
            start = date(2022, 1, 1)
            assert first.history(first.rng(index), risk, start) == second.history(
                second.rng(index), risk, start
            )


def test_every_credit_record_fits_the_pack(tmp_path: Path) -> None:
    pack: Pack = load_shipped("national")
    histories = CreditHistories(2, AS_OF)
    for index in range(500):
        risk = histories.risk(index)
        if risk is None:
            continue
        for event in histories.history(histories.rng(index), risk, date(2022, 1, 1)):
            pack.validator(event.record_type)(dict(event.fields))
            assert event.severity in pack.record_types[event.record_type].severities
            assert date(2022, 1, 1) <= event.decided_on <= AS_OF

"""A subject's file: identity, flags, representation, every record with its versions, events,
provenance and the ledger leaf that proves each event."""

from pathlib import Path

import orjson
import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from xinyong.ledger import SigningKey, checkpoint
from xinyong.ledger.bundle import BundleError, InclusionBundle, verify_bundle
from xinyong.ledger.checkpoint import write_signing_key
from xinyong.policy import Pack
from xinyong.records.lookup import UnknownSubject
from xinyong.subjects.proofs import attach_proofs
from xinyong.subjects.service import subject_file
from xinyong.testing import samples
from xinyong.testing.ingest import ingest
from xinyong.testing.store import migrated_store


def test_the_file_holds_versions_events_provenance_and_proofs(
    factory: sessionmaker[Session], national: Pack, tmp_path: Path
) -> None:
    company, boss = samples.organisation(5), samples.person(8)
    ingest(
        factory,
        national,
        tmp_path,
        [
            samples.registration(company, boss, 1),
            samples.defaulter_listing(company, 2),
            samples.defaulter_listing(company, 2, op="correct", amount=7.0),
        ],
    )
    with factory() as session:
        file = subject_file(session, company.lower(), national)
        person = subject_file(session, boss, national)
    assert file["subject"]["identifier"] == company
    assert file["subject"]["flags"] == {"confirmed": True, "suspect_identifier": False}
    assert file["representation"] == [
        {
            "role": "legal_representative",
            "identifier": boss,
            "name": "李四",
            "started_on": "2020-05-01",
            "ended_on": None,
        }
    ]
    assert person["representation"][0]["role"] == "represents"
    listing = next(r for r in file["records"] if r["record_type"] == "court.defaulter_listing")
    assert listing["current_version"] == 2 and listing["disclosure"] == "public"
    assert [v["amount"] for v in listing["versions"]] == ["120000.00", "7.00"]
    assert [e["kind"] for v in listing["versions"] for e in v["events"]] == [
        "submitted",
        "corrected",
    ]
    assert listing["versions"][0]["provenance"]["row"] == 2

    event = listing["versions"][1]["events"][0]
    assert event["proof"] is None  # the bundle is for readers of the file (subjects.proofs)
    key = SigningKey.generate()
    write_signing_key(tmp_path / "signing.key", key)
    with factory.begin() as session:
        checkpoint(session, key)
    with factory() as session:
        attach_proofs(session, file, tmp_path / "signing.key", 60)
    bundle = InclusionBundle(**event["proof"])
    verdict = verify_bundle(bundle, key.verifier)
    assert f"(record.corrected {event['id']}), fully disclosed, is in the tree" in verdict.statement
    assert verdict.disclosed["subject"] == {"identifier": company, "name": "张三"}
    assert verdict.disclosed["decision"]["amount"] == "7.00"
    assert verdict.disclosed["field.case_no"] == "(2024)京0105执2号"
    forged = bundle.model_copy(update={"leaf_index": bundle.leaf_index + 1})
    with pytest.raises(BundleError):
        verify_bundle(forged, key.verifier)


def test_an_unknown_subject_is_a_clear_error(
    factory: sessionmaker[Session], national: Pack
) -> None:
    with factory() as session, pytest.raises(UnknownSubject, match="no subject"):
        subject_file(session, samples.person(99), national)


def test_the_command_prints_the_file_as_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, national: Pack
) -> None:
    from xinyong.cli import app
    from xinyong.config import get_settings

    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("XINYONG_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    get_settings.cache_clear()
    try:
        ingest(
            migrated_store(), national, tmp_path, [samples.defaulter_listing(samples.person(3), 1)]
        )
        key = SigningKey.generate()
        write_signing_key(get_settings().ledger_key_path, key)
        result = CliRunner().invoke(app, ["subject", samples.person(3), "--json"])
        assert result.exit_code == 0, result.output
        [record] = orjson.loads(result.stdout)["records"]
        assert record["document_no"] == "(2024)京0105执1号"
        [event] = record["versions"][0]["events"]
        # Logged after the last checkpoint: pending, until the command's end signs one.
        assert event["proof"]["status"] == "pending"
        again = CliRunner().invoke(app, ["subject", samples.person(3), "--json"])
        [record] = orjson.loads(again.stdout)["records"]
        proof = InclusionBundle(**record["versions"][0]["events"][0]["proof"])
        assert verify_bundle(proof, key.verifier).disclosed["subject"][
            "identifier"
        ] == samples.person(3)
        missing = CliRunner().invoke(app, ["subject", samples.person(4)])
        assert missing.exit_code == 1
    finally:
        get_settings.cache_clear()

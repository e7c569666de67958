"""Public datasets hold what the portal shows, in three formats, signed, with deltas that
chain; ``xinyong datasets verify`` accepts them and names the first fault in a changed copy."""

import shutil
from pathlib import Path

import orjson
import pyarrow.parquet as pq
from sqlalchemy import select
from tests.mirror.conftest import Platform, listing
from typer.testing import CliRunner

from xinyong.cli import app
from xinyong.clock import china_today
from xinyong.datasets.public import RECORDS, list_dataset
from xinyong.datasets.verify import download, verify_folder
from xinyong.datasets.versions import Shelf
from xinyong.ledger.checkpoint import read_signing_key
from xinyong.portal.public_file import public_file, ref_of
from xinyong.records.models import Subject
from xinyong.testing import samples

DEFAULTERS = list_dataset("court.defaulters")


def rows(shelf: Shelf, name: str, version: int) -> dict[str, dict]:  # type: ignore[type-arg]
    return shelf.snapshot_rows(name, version)


def test_a_public_dataset_is_what_the_portal_shows(platform: Platform) -> None:
    person = samples.person(11)
    platform.ingest(listing(person, 11))
    platform.publisher.publish_public()
    shelf = platform.publisher.shelf
    listed = rows(shelf, DEFAULTERS, 1)
    records = rows(shelf, RECORDS, 1)
    assert len(listed) == 1 and len(records) == 1
    [entry] = listed.values()
    with platform.factory() as session:
        subject = session.scalars(select(Subject).where(Subject.identifier == person)).one()
        shown = public_file(session, platform.pack, ref_of(subject), china_today())
    assert shown is not None
    assert person not in orjson.dumps([listed, records]).decode()  # masked, as on the portal
    assert entry["subject"]["id"] == shown["subject"]["id"] != person
    manifest = shelf.manifest(DEFAULTERS, 1)
    assert {entry.format for entry in manifest.files} == {"jsonl", "csv", "parquet"}
    parquet = shelf.folder(DEFAULTERS, 1) / f"{DEFAULTERS}.parquet"
    assert pq.read_table(parquet).num_rows == 1
    assert manifest.document["checkpoint"]["tree_size"] > 0


def test_versions_chain_with_ordered_deltas_and_verify(platform: Platform, tmp_path: Path) -> None:
    first, second = samples.person(12), samples.person(13)
    platform.ingest(listing(first, 12))
    platform.publisher.publish_public()
    platform.ingest(listing(second, 13))
    platform.ingest({**listing(first, 12), "op": "withdraw"})
    platform.publisher.publish_public()
    shelf = platform.publisher.shelf
    delta = (shelf.folder(DEFAULTERS, 2) / "delta.jsonl").read_bytes().splitlines()
    assert sorted(orjson.loads(line)["op"] for line in delta) == ["ADD", "DEL"]
    key = read_signing_key(platform.settings.ledger_key_path).verifier
    report = verify_folder(shelf.folder(DEFAULTERS), key)
    assert report.ok and [v["version"] for v in report.versions] == [1, 2]
    # A copy with a changed delta, or without its first version's signature, does not hold.
    copy = tmp_path / "copy"
    shutil.copytree(shelf.folder(DEFAULTERS), copy)
    changed = copy / "00000002" / "delta.jsonl"
    changed.write_bytes(changed.read_bytes().replace(b'"DEL"', b'"MOD"'))
    assert "SHA-256" in str(verify_folder(copy, key).problem)
    shutil.rmtree(copy)
    shutil.copytree(shelf.folder(DEFAULTERS), copy)
    (copy / "00000001" / "manifest.json.sig").write_bytes(b"\xff\xfe not a note")
    assert "is not a signed note" in str(verify_folder(copy, key).problem)
    (copy / "00000001" / "manifest.json.sig").unlink()
    assert "unsigned" in str(verify_folder(copy, key).problem)
    # Another platform's key does not vouch for it.
    from xinyong.ledger.checkpoint import SigningKey

    other = verify_folder(shelf.folder(DEFAULTERS), SigningKey.generate().verifier)
    assert not other.ok


def test_verify_downloads_a_dataset_by_url(platform: Platform, tmp_path: Path) -> None:
    platform.ingest(listing(samples.person(14), 14))
    platform.publisher.publish_public()
    folder = download(f"{platform.url}/v1/datasets/{DEFAULTERS}", tmp_path / "got")
    assert verify_folder(folder).ok
    result = CliRunner().invoke(
        app, ["datasets", "verify", f"{platform.url}/v1/datasets/{DEFAULTERS}/1", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output)["ok"] is True


def test_nothing_changed_makes_no_version(platform: Platform) -> None:
    platform.publisher.publish_public()
    again = platform.publisher.publish_public()
    assert {outcome.version for outcome in again} == {None}


def test_versions_past_the_window_are_deleted_but_the_latest_snapshot_stays(
    platform: Platform,
) -> None:
    from datetime import timedelta

    from xinyong.clock import utc_now
    from xinyong.datasets.publish import Publisher

    settings = platform.settings.model_copy(update={"datasets_keep_days": 1.0})
    publisher = Publisher(platform.factory, platform.pack, settings)
    now = utc_now()
    for days in (3, 2, 0):
        publisher.publish_public(now=now - timedelta(days=days), force=True)
    index = publisher.shelf.index(DEFAULTERS)
    assert index is not None
    assert [item["version"] for item in index["versions"]] == [3]
    assert sorted(path.name for path in publisher.shelf.folder(DEFAULTERS).iterdir()) == [
        "00000003",
        "index.json",
    ]

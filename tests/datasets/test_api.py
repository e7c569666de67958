"""``/v1/datasets`` and ``/v1/mirror`` over HTTP: listings, ETags and ranges, feeds only to
their scope, and refused reports."""

import httpx
import orjson
from tests.mirror.conftest import Platform, listing

from xinyong.datasets.reports import KIND
from xinyong.keys.service import create_key
from xinyong.ledger.checkpoint import SigningKey
from xinyong.ledger.signed import sign
from xinyong.testing import samples


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_datasets_are_listed_and_served_with_etags_and_ranges(platform: Platform) -> None:
    platform.ingest(listing(samples.person(21), 21))
    platform.publisher.publish_public()
    platform.publisher.publish_feeds()
    listed = httpx.get(f"{platform.url}/v1/datasets").json()["datasets"]
    names = {item["name"] for item in listed}
    assert "records" in names and "list.court.defaulters" in names
    assert not any(name.startswith("feed.") for name in names)  # feeds are never public
    url = f"{platform.url}/v1/datasets/list.court.defaulters/1/list.court.defaulters.jsonl"
    whole = httpx.get(url)
    assert whole.status_code == 200 and whole.headers["etag"]
    assert httpx.get(url, headers={"If-None-Match": whole.headers["etag"]}).status_code == 304
    part = httpx.get(url, headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == whole.content[:10]
    assert (
        httpx.get(f"{platform.url}/v1/datasets/list.court.defaulters/99/x.jsonl").status_code == 404
    )
    feed = next(iter(platform.publisher.feeds))
    assert httpx.get(f"{platform.url}/v1/datasets/{feed}").status_code == 404


def test_a_feed_is_served_to_its_scope_only(platform: Platform) -> None:
    platform.publisher.publish_feeds()
    with platform.factory.begin() as session:
        railway = create_key(
            session,
            role="relying_party",
            authority=None,
            label="rail",
            actions=["buy_soft_sleeper_ticket"],
        )
        plain = create_key(session, role="relying_party", authority=None, label="bank")
    head = httpx.get(f"{platform.url}/v1/mirror/feed", headers=bearer(platform.token)).json()
    feed = orjson.loads(head["head"])["feed"]
    own = f"{platform.url}/v1/mirror/feeds/{feed}/1/manifest.json"
    assert httpx.get(own, headers=bearer(platform.token)).status_code == 200
    assert httpx.get(own, headers=bearer(railway)).status_code == 403
    assert httpx.get(own).status_code == 401
    assert httpx.get(f"{platform.url}/v1/mirror/feed", headers=bearer(plain)).status_code == 403
    # The check service refuses an action outside the key's scope too.
    outside = httpx.post(
        f"{platform.url}/v1/checks",
        json={"subject_id": samples.person(22), "action": "apply_loan", "purpose": "a loan"},
        headers=bearer(platform.token),
    )
    assert outside.status_code == 403 and "scope" in outside.text


def test_bad_reports_are_refused_with_a_reason(platform: Platform) -> None:
    mirror = SigningKey.generate("mirror-a")
    batch = orjson.dumps(
        {
            "format": "xinyong-mirror-checks/1",
            "batch_id": "a:1-1",
            "mirror": "mirror-a",
            "site": "PEK",
            "feed": "feed.x",
            "checks": [
                [
                    "ab",
                    "2026-01-01T00:00:00+00:00",
                    samples.person(23),
                    "apply_loan",
                    "allow",
                    1,
                    "p",
                    False,
                    "sale",
                ]
            ],
        }
    )
    url = f"{platform.url}/v1/mirror/checks"

    def send(data: bytes, key: SigningKey, note: str | None = None) -> httpx.Response:
        body = {
            "key": key.verifier.encode(),
            "batch": data.decode(),
            "signature": note or sign(data, KIND, key),
        }
        return httpx.post(url, json=body, headers=bearer(platform.token))

    outside = send(batch, mirror)
    assert outside.status_code == 422 and "apply_loan" in outside.text
    good = batch.replace(b"apply_loan", b"buy_air_ticket")
    assert send(good, mirror, sign(batch, KIND, mirror)).status_code == 422  # signs other bytes
    assert send(good, mirror).json()["status"] == "logged"
    assert send(good, mirror).json()["status"] == "duplicate"
    assert (
        send(good.replace(b'"sale"', b'"sold"'), mirror).status_code == 409
    )  # same id, other checks
    assert (
        send(good.replace(b"a:1-1", b"a:2-2"), SigningKey.generate("mirror-b")).status_code == 409
    )

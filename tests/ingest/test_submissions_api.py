"""``POST /v1/submissions`` through the real application, with real API keys."""

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from xinyong.app import create_app
from xinyong.config import Settings
from xinyong.keys.service import create_key
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.store import migrated_sqlite


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    url = migrated_sqlite(tmp_path / "api.db")
    with TestClient(create_app(Settings(database_url=url, var_dir=tmp_path))) as client:
        yield client


def key(client: TestClient, role: str, authority: str | None = None) -> dict[str, str]:
    factory = make_sessionmaker(make_engine(str(client.app.state.engine.url)))  # type: ignore[attr-defined]
    with factory.begin() as session:
        token = create_key(session, role=role, authority=authority, label="test")
    return {"Authorization": f"Bearer {token}"}


def test_an_authority_submits_and_gets_every_rows_result(client: TestClient) -> None:
    court = key(client, "authority", "court.110105")
    good = samples.defaulter_listing(samples.person(1), 1)
    del good["authority"]  # the key says who is submitting
    bad = samples.defaulter_listing(samples.person(2), 2, severity="grave")
    response = client.post("/v1/submissions", json=[good, bad], headers=court)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    assert body["rows"][0]["status"] == "accepted" and body["rows"][0]["record_id"] > 0
    assert body["rows"][1] == {
        "row": 2,
        "status": "rejected",
        "record_id": None,
        "version": None,
        "field": "severity",
        "reason": body["rows"][1]["reason"],
    }
    again = client.post("/v1/submissions", json=[good], headers=court).json()
    assert again["duplicates"] == 1 and again["accepted"] == 0


def test_ndjson_bodies_are_read_line_by_line(client: TestClient) -> None:
    court = key(client, "authority", "court.110105")
    body = orjson.dumps(samples.defaulter_listing(samples.person(3), 3)) + b"\n{broken\n"
    response = client.post(
        "/v1/submissions", content=body, headers={**court, "Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 200
    assert [row["status"] for row in response.json()["rows"]] == ["accepted", "rejected"]


def test_an_authority_may_submit_only_what_the_catalogue_allows_it(client: TestClient) -> None:
    tax = key(client, "authority", "tax.110000")
    listing = samples.defaulter_listing(samples.person(4), 4)
    response = client.post("/v1/submissions", json=[listing], headers=tax).json()
    assert response["rows"][0]["field"] == "authority"
    listing.pop("authority")
    response = client.post("/v1/submissions", json=[listing], headers=tax).json()
    assert "may not submit" in response["rows"][0]["reason"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer xy_nope_nope"}, 401),
        ({"Authorization": "Basic abc"}, 401),
    ],
)
def test_no_valid_key_is_401(client: TestClient, headers: dict[str, str], status: int) -> None:
    response = client.post("/v1/submissions", json=[], headers=headers)
    assert response.status_code == status and "key" in response.json()["detail"]


def test_a_relying_party_key_cannot_submit(client: TestClient) -> None:
    response = client.post("/v1/submissions", json=[], headers=key(client, "relying_party"))
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"[1, 2", "not valid JSON"),
        (b'{"rows": []}', "unknown column"),
    ],
)
def test_unreadable_bodies_get_a_clear_4xx(client: TestClient, body: bytes, fragment: str) -> None:
    court = key(client, "authority", "court.110105")
    response = client.post(
        "/v1/submissions", content=body, headers={**court, "Content-Type": "application/json"}
    )
    text = response.text
    if fragment == "unknown column":  # a readable body with a wrong row: the row is refused
        assert response.status_code == 200 and response.json()["rejected"] == 1
    else:
        assert 400 <= response.status_code < 500
    assert fragment in text and "Traceback" not in text


@pytest.fixture
def any_backend(store_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=store_url, var_dir=tmp_path))) as client:
        yield client


def test_hostile_rows_are_answered_in_their_place_on_every_backend(
    any_backend: TestClient,
) -> None:
    court = key(any_backend, "authority", "court.110105")
    listed, stranger = samples.person(1), samples.person(2)
    rows = [
        orjson.dumps(samples.defaulter_listing(listed, 1)),
        orjson.dumps(samples.defaulter_listing(listed, 2, subject_name="张\x00三")),
        orjson.dumps(samples.defaulter_listing(stranger, 1, op="correct", amount=1.0)),
        b'{"record_type": "court.defaulter_listing", "amount": ' + b"9" * 30 + b"}",
        b'{"record_type": "court.defaulter_listing", "fields": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"subject_name": "\\ud800"}',
        b'{"subject_name": "\xff\xfe"}',
        b'{"subject_id": "11010\xc2\xb2195102020025"}',
        orjson.dumps(samples.defaulter_listing(listed, 3, amount="-0")),
    ]
    for content_type, body in (
        ("application/json", b"[" + b",".join(rows) + b"]"),
        ("application/x-ndjson", b"\n".join(rows)),
    ):
        response = any_backend.post(
            "/v1/submissions", content=body, headers={**court, "Content-Type": content_type}
        )
        assert response.status_code == 200, response.text
        answer = response.json()
        assert [row["row"] for row in answer["rows"]] == list(range(1, len(rows) + 1))
        assert sum(answer[n] for n in ("accepted", "duplicates", "rejected")) == len(rows)
    first, second = answer["rows"][0], answer["rows"][2]
    assert first["status"] == "duplicate" and answer["rows"][-1]["status"] == "duplicate"
    assert second["field"] == "subject_id" and "withdraw it and submit anew" in second["reason"]
    assert [row["status"] for row in answer["rows"][1:-1]] == ["rejected"] * (len(rows) - 2)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'[{"a": 1} {"b": 2},,]', "not valid JSON"),
        ('[{"subject_name": "张三李四王五赵六"}]'.encode("gb18030"), "not UTF-8"),
    ],
)
def test_a_body_that_cannot_be_read_at_all_is_a_400(
    client: TestClient, body: bytes, fragment: str
) -> None:
    court = key(client, "authority", "court.110105")
    response = client.post(
        "/v1/submissions", content=body, headers={**court, "Content-Type": "application/json"}
    )
    assert response.status_code == 400 and fragment in response.json()["detail"]


def test_rows_in_an_external_layout_are_read_through_the_named_profile(
    client: TestClient,
) -> None:
    market = key(client, "authority", "market.110105")
    row = {
        "行政相对人名称": "北京示例科技有限公司",
        "行政相对人代码_1（统一社会信用代码）": samples.organisation(9),
        "行政处罚决定书文号": "京朝市监罚〔2025〕9号",
        "违法事实": "销售不合格产品",
        "处罚类别": "罚款",
        "罚款金额（万元）": 2,
        "处罚决定日期": "2025/03/10",
        "公示截止期": "2025/05/10",
    }
    bad = {**row, "行政处罚决定书文号": "京朝市监罚〔2025〕10号", "处罚类别": "训诫"}
    response = client.post(
        "/v1/submissions?profile=double_publicity.penalty", json=[row, bad], headers=market
    )
    assert response.status_code == 200
    first, second = response.json()["rows"]
    assert first["status"] == "accepted"
    assert (second["status"], second["field"]) == ("rejected", "处罚类别")
    unknown = client.post("/v1/submissions?profile=fines", json=[row], headers=market)
    assert unknown.status_code == 400
    assert "no import profile 'fines'" in unknown.json()["detail"]

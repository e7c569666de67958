"""``GET /v1/actions`` and what the OpenAPI document tells a relying party's developer."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from xinyong.app import create_app
from xinyong.config import Settings
from xinyong.enforcement import api
from xinyong.policy import Pack
from xinyong.testing.store import migrated_sqlite


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(api, "POLL_SECONDS", 0.0)
    url = migrated_sqlite(tmp_path / "api.db")
    with TestClient(create_app(Settings(database_url=url, var_dir=tmp_path))) as client:
        yield client


def test_every_action_is_listed_with_the_measures_that_touch_it(
    client: TestClient, national: Pack
) -> None:
    response = client.get("/v1/actions")  # no key: the policy is public
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["policy_version"] == national.policy_version
    listed = {action["code"]: action for action in body["actions"]}
    assert set(listed) == set(national.actions)
    for code, action in listed.items():
        expected = {
            measure.code: measure.effects[code].value
            for measure in national.measures.values()
            if code in measure.effects
        }
        assert {measure["code"]: measure["effect"] for measure in action["measures"]} == expected
        assert action["name"] == national.actions[code].name.model_dump()
    air = {measure["code"]: measure for measure in listed["buy_air_ticket"]["measures"]}
    assert air["consumption.air_travel"]["effect"] == "deny"
    assert air["consumption.air_travel"]["legal_basis"][0]["title"]


def test_an_unknown_action_points_to_the_list_of_actions(client: TestClient) -> None:
    assert api._unknown_action("fly", "action").endswith("GET /v1/actions lists the actions")


def _fields(node: Any, trail: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property of every object schema under ``node``, with where it is."""
    if isinstance(node, dict):
        for name, field in node.get("properties", {}).items():
            yield f"{trail}.{name}", field
        for key, value in node.items():
            yield from _fields(value, f"{trail}.{key}")
    elif isinstance(node, list):
        for position, value in enumerate(node):
            yield from _fields(value, f"{trail}[{position}]")


def test_the_check_contract_describes_every_field_and_lists_actions(
    client: TestClient, national: Pack
) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    parts: list[Any] = [
        document["paths"][path]["post"]["requestBody"]
        for path in ("/v1/checks", "/v1/checks/batch")
    ]
    parts += [schemas[name] for name in ("DecisionOut", "MeasureOut", "EntryOut", "RefusedItem")]
    parts += [schemas[name] for name in ("BatchOut", "Text", "Basis", "ActionsOut", "ActionOut")]
    undescribed = [
        where for part in parts for where, field in _fields(part) if not field.get("description")
    ]
    assert undescribed == []
    actions = sorted(national.actions)
    single = document["paths"]["/v1/checks"]["post"]["requestBody"]["content"]["application/json"]
    assert single["schema"]["properties"]["action"]["enum"] == actions
    assert single["schema"]["examples"][0]["action"] in actions
    batch = document["paths"]["/v1/checks/batch"]["post"]["requestBody"]["content"]
    item = batch["application/json"]["schema"]["properties"]["items"]["items"]
    assert item["properties"]["action"]["enum"] == actions
    assert batch["application/json"]["schema"]["examples"][0]["items"]
    assert schemas["DecisionOut"]["properties"]["action"]["enum"] == actions
    assert "enum" not in schemas["RefusedItem"]["properties"]["action"]  # echoes what was sent
    assert "/v1/actions" in document["paths"]

"""The footer says who runs the platform, from the settings, on every page; nothing when unset."""

from pathlib import Path

from fastapi.testclient import TestClient

from xinyong.app import create_app
from xinyong.config import Settings
from xinyong.testing.store import migrated_sqlite


def _client(tmp_path: Path, **operator: str) -> TestClient:
    url = migrated_sqlite(tmp_path / "app.db")
    return TestClient(create_app(Settings(database_url=url, var_dir=tmp_path, **operator)))


def test_the_footer_names_the_operator_from_the_settings(tmp_path: Path) -> None:
    details = {
        "operator_name": "示范市发展和改革委员会",
        "operator_contact": "credit@example.gov.cn",
        "operator_hotline": "12345",
        "icp_filing": "京ICP备00000000号",
        "security_filing": "京公网安备11000000000000号",
    }
    with _client(tmp_path, **details) as client:
        for path in ("/", "/rules", "/no/such/page"):
            page = client.get(path).text
            footer = page.split('<footer class="footer">', 1)[1]
            assert "主办单位" in footer and "服务热线" in footer, path
            for value in details.values():
                assert value in footer, (path, value)


def test_an_unset_operator_leaves_no_empty_labels(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        footer = client.get("/").text.split('<footer class="footer">', 1)[1]
        assert "主办单位" not in footer and "服务热线" not in footer

"""``xinyong users create|list`` and ``xinyong subject ID --as-subject|--report`` on a store
named by the environment."""

from collections.abc import Iterator
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import orjson
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from xinyong.accounts.deps import Person
from xinyong.accounts.service import login, signed_in
from xinyong.audit.service import record_access
from xinyong.cli import app
from xinyong.clock import china_today
from xinyong.config import get_settings
from xinyong.ingest.service import IngestJob, scan_file
from xinyong.policy import Pack
from xinyong.store.runtime import open_store
from xinyong.testing import samples
from xinyong.testing.store import migrated_store

runner = CliRunner()
PASSWORD = "a long enough password\n"


@pytest.fixture
def listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, national: Pack) -> Iterator[str]:
    """A store (from the environment) holding one listed defaulter; yields its identifier."""
    monkeypatch.setenv("XINYONG_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("XINYONG_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    person = samples.person(6)
    day = (china_today() - timedelta(days=10)).isoformat()
    path = tmp_path / "rows.jsonl"
    path.write_bytes(
        orjson.dumps(samples.defaulter_listing(person, 6, decided_on=day, effective_on=day))
    )
    digest, _ = scan_file(path)
    IngestJob(migrated_store(), national, today=china_today()).run_file(
        path, digest=digest, report_dir=tmp_path
    )
    yield person
    get_settings.cache_clear()


def create(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["users", "create", *args, "--password-stdin"], input=PASSWORD)
    return result.exit_code, result.stdout, result.stderr


def test_users_are_created_and_listed(listed: str) -> None:
    code, out, _ = create("zhang", "--role", "subject", "--subject", listed, "--json")
    assert code == 0 and orjson.loads(out) == {"id": 1, "username": "zhang", "role": "subject"}
    assert create("clerk", "--role", "authority", "--authority", "court.110105")[0] == 0
    code, _, error = create("clerk2", "--role", "authority", "--authority", "court.nowhere")
    assert code == 2 and "unknown authority" in error
    code, _, error = create("zhang", "--role", "operator")
    assert code == 2 and "taken" in error
    listing = runner.invoke(app, ["users", "list", "--json"])
    assert [
        (a["username"], a["role"], a["subject"], a["authority"])
        for a in orjson.loads(listing.stdout)
    ] == [
        ("zhang", "subject", listed, None),
        ("clerk", "authority", None, "court.110105"),
    ]
    assert "password" not in listing.stdout
    table = runner.invoke(app, ["users", "list"])
    assert table.exit_code == 0 and "clerk" in table.stdout


def test_the_whole_file_as_the_subject_sees_it(listed: str) -> None:
    assert create("reader", "--role", "reviewer")[0] == 0
    with open_store().begin() as session:
        reviewer = signed_in(session, login(session, "reader", PASSWORD.strip())).account
        record_access(
            session,
            person=Person(reviewer.id, "reader", "reviewer", None, None, None),
            subject_id=1,
            purpose="objection 12",
            what="subject file",
        )
    result = runner.invoke(app, ["subject", listed, "--as-subject", "--json"])
    assert result.exit_code == 0, result.output
    file = orjson.loads(result.stdout)
    assert file["entries"][0]["list"] == "court.defaulters"
    assert {d["action"]: d["effect"] for d in file["decisions"]}["buy_air_ticket"] == "deny"
    assert [(a["who"], a["purpose"]) for a in file["accesses"]] == [("reader", "objection 12")]
    plain = runner.invoke(app, ["subject", listed, "--as-subject"])
    assert plain.exit_code == 0 and "objection 12" in plain.stdout and "deny" in plain.stdout
    # Without --as-subject the operator's view is unchanged: no accesses in it.
    assert "accesses" not in orjson.loads(runner.invoke(app, ["subject", listed, "--json"]).stdout)


def test_the_credit_report_is_written_as_pdf_or_html(listed: str, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    result = runner.invoke(app, ["subject", listed, "--report", str(pdf)])
    assert result.exit_code == 0 and "written to" in result.stdout
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf.read_bytes())).pages)
    assert listed in text and "京0105执6号" in text
    html = tmp_path / "report.html"
    assert runner.invoke(app, ["subject", listed, "--report", str(html)]).exit_code == 0
    assert "(2024)京0105执6号" in html.read_text(encoding="utf-8")
    wrong = runner.invoke(app, ["subject", listed, "--report", str(tmp_path / "report.docx")])
    assert wrong.exit_code == 2

"""Over the whole demo city, as ``xinyong demo`` builds and publishes it, the demo airline's
mirror decides every subject as the central index does."""

import threading
import time
from pathlib import Path

import orjson
import pytest
import uvicorn
from sqlalchemy import select

from xinyong.app import create_app
from xinyong.clock import china_today
from xinyong.config import Settings
from xinyong.enforcement.index import MeasuresIndex
from xinyong.mirror import Mirror
from xinyong.mirror.store import LocalStore
from xinyong.mirror.sync import Client, Syncer
from xinyong.policy import Pack
from xinyong.records.models import Subject
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing.demo import build_demo

from .conftest import _free_port


@pytest.mark.slow
def test_the_demo_airlines_mirror_decides_the_whole_city_as_the_platform(
    tmp_path: Path, national: Pack
) -> None:
    var = tmp_path / "var"
    built = build_demo(var, persons=400, orgs=40)
    assert built.returncode == 0, built.stderr
    assert "scoped to buy_air_ticket" in built.stdout
    keys = orjson.loads((var / "demo" / "keys.json").read_bytes())
    [airline] = [key for key in keys if key.get("actions")]
    settings = Settings(var_dir=var, database_url="")
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.05)
    try:
        syncer = Syncer(
            LocalStore(tmp_path / "m"), Client(f"http://127.0.0.1:{port}", airline["key"])
        )
        outcome = syncer.sync()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    mirror = Mirror(tmp_path / "m")
    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    index = MeasuresIndex(national)
    with factory() as session:
        index.load(session)
        subjects = list(session.scalars(select(Subject.identifier)))
    today = china_today()
    answers = mirror.check_all([(subject, "buy_air_ticket") for subject in subjects], "audit")
    denied = 0
    for subject, answer in zip(subjects, answers, strict=True):
        central = index.decide(subject, "buy_air_ticket", today)
        assert (answer.effect, answer.measures, answer.entries, answer.benefits) == (
            central.effect,
            central.measures,
            central.entries,
            central.benefits,
        ), subject
        denied += answer.effect == "deny"
    assert denied > 0 and outcome.version >= 1
    assert isinstance(mirror.rows, dict) and set(mirror.rows) <= set(subjects)
    # The same checks in groups of one action, identifiers validated over one array each
    # (the city's organisations among them, which take the one-by-one way).
    for start in range(0, len(subjects), 1000):
        group = mirror.check_many(subjects[start : start + 1000], "buy_air_ticket", "audit")
        assert group.effects == [answer.effect for answer in answers[start : start + 1000]]

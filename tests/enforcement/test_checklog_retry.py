"""The check log never drops rows because the store refused a write: they wait for the next flush."""

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from xinyong.enforcement.checklog import Asker, CheckLog
from xinyong.enforcement.decisions import Decision
from xinyong.enforcement.models import CheckLogRow
from xinyong.store.db import make_engine, make_sessionmaker, migrate


def test_rows_survive_a_failed_flush(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    migrate(url)
    factory = make_sessionmaker(make_engine(url))
    log = CheckLog(factory)
    decision = Decision(
        "d1",
        "S1",
        True,
        "buy_air_ticket",
        date(2026, 11, 1),
        "allow",
        (),
        (),
        (),
        "national@test",
        date(2026, 11, 2),
    )
    log.add_all([decision], Asker("k1", "airline"), "ticket sale")
    with factory.begin() as session:
        session.execute(text("ALTER TABLE check_log RENAME TO check_log_away"))
    with pytest.raises(Exception, match="check_log"):
        log.flush()
    with factory.begin() as session:
        session.execute(text("ALTER TABLE check_log_away RENAME TO check_log"))
    assert log.flush() == 1
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(CheckLogRow)) == 1

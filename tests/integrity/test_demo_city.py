"""A whole synthetic city, built the way a user builds it, verifies clean: every derived table
and the published search index agree with their recomputation from the logged records."""

import subprocess
from pathlib import Path

import pytest

from xinyong.integrity import verify_derived
from xinyong.integrity.report import AREAS
from xinyong.policy import Pack
from xinyong.store.db import make_engine, make_sessionmaker


@pytest.mark.slow  # a whole demo city: `make test` runs it, the quick loop does not
def test_a_demo_city_verifies_clean(
    demo_city: tuple[Path, subprocess.CompletedProcess[str]], national: Pack
) -> None:
    tmp_path, built = demo_city  # the suite's demo city (tests/conftest.py)
    assert built.returncode == 0, built.stderr
    factory = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'xinyong.db'}"))
    with factory() as session:
        report = verify_derived(session, national, search_root=tmp_path / "search")
    assert report.ok, [item.describe() for item in report.differences]
    assert (report.stale_total, report.notes) == (0, [])
    assert set(report.checked) == set(AREAS)
    assert all(count > 0 for count in report.checked.values()), report.checked

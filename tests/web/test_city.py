"""The web tests' city is the demo's, built with ``--no-scorecard``: every default scheme is
scored but the financial scorecard, which was never trained."""

from sqlalchemy import distinct, select
from tests.web.conftest import City

from xinyong.policy import load_shipped
from xinyong.scoring.models import ScoreRow
from xinyong.scoring.packs import DEFAULT_PACKS


def test_the_city_without_the_scorecard_scores_every_other_scheme(city: City) -> None:
    assert not (city.settings.var_dir / "scorecards").exists()
    with city.factory() as session:
        scored = set(session.scalars(select(distinct(ScoreRow.scheme))))
    schemes = {code for name in DEFAULT_PACKS for code in load_shipped(name).schemes}
    assert "financial.scorecard" in schemes
    assert scored == schemes - {"financial.scorecard"}

"""Scoring with the JSON points table: range, bands, contributions and reason codes."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.scorecard.features import FEATURE_NAMES
from xinyong.scorecard.model import BANDS, MAX_SCORE, MIN_SCORE, FeatureTable, Scorecard, band_of

if TYPE_CHECKING:
    from xinyong.scorecard.train import TrainingReport

values = st.one_of(
    st.floats(min_value=-1e6, max_value=1e9, allow_nan=False),
    st.just(math.nan),
    st.integers(min_value=0, max_value=50).map(float),
)
feature_values = st.fixed_dictionaries({}, optional=dict.fromkeys(FEATURE_NAMES, values))


@settings(max_examples=300, deadline=None)
@given(features=feature_values)
def test_scores_lie_within_350_and_950_in_their_band(
    report: TrainingReport, features: dict[str, float]
) -> None:
    result = report.scorecard.score(features)
    assert MIN_SCORE <= result.points <= MAX_SCORE
    assert result.points == sum(item.points for item in result.contributions)
    band = next(band for band in BANDS if band.grade == result.band)
    assert band.min <= result.points <= band.max


@settings(max_examples=300, deadline=None)
@given(features=feature_values)
def test_reasons_are_the_four_largest_point_losses(
    report: TrainingReport, features: dict[str, float]
) -> None:
    scorecard = report.scorecard
    result = scorecard.score(features)
    losses = []
    for table, contribution in zip(scorecard.features, result.contributions, strict=True):
        reachable = [item.points for item in table.bins]
        reachable += [table.missing.points] if table.missing.count else []
        losses.append((max(reachable) - contribution.points, contribution.feature))
    expected = sorted(
        ((lost, name) for lost, name in losses if lost > 0), key=lambda item: (-item[0], item[1])
    )[:4]
    assert [(reason.lost, reason.feature) for reason in result.reasons] == expected
    for reason in result.reasons:
        assert (reason.feature, reason.bin, reason.points) in result.contributions


def _bin_values(table: FeatureTable) -> list[float]:
    """A value inside each bin, in bin order, then a missing value."""
    if not table.splits:
        return [0.0, math.nan]
    return [table.splits[0] - 1, *table.splits, math.nan]


def test_the_best_subject_has_no_reason_and_the_worst_has_four(report: TrainingReport) -> None:
    best: dict[str, float] = {}
    worst: dict[str, float] = {}
    costly = 0
    for table in report.scorecard.features:
        values = _bin_values(table)
        points = [table.bin_of(value).points for value in values]
        best[table.name] = values[points.index(table.best)]
        worst[table.name] = values[points.index(min(points[:-1]))]
        costly += min(points[:-1]) < table.best
    assert report.scorecard.score(best).reasons == []
    assert len(report.scorecard.score(worst).reasons) == min(4, costly) == 4


def test_a_missing_feature_takes_the_missing_bin(report: TrainingReport) -> None:
    result = report.scorecard.score({})
    assert [item.bin for item in result.contributions] == ["Missing"] * len(result.contributions)


def test_the_bands_cut_350_to_950_like_sesame_credit() -> None:
    assert [band_of(points) for points in (350, 549, 550, 599, 600, 649, 650, 699, 700, 950)] == [
        "poor",
        "poor",
        "fair",
        "fair",
        "good",
        "good",
        "very_good",
        "very_good",
        "excellent",
        "excellent",
    ]


def test_the_artefact_is_plain_json(report: TrainingReport) -> None:
    text = (report.folder / "scorecard.json").read_text(encoding="utf-8")
    assert Scorecard.model_validate_json(text) == report.scorecard

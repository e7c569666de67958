"""Population stability: zero against itself, growing as the population shifts."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.scorecard.monitor import monitor, psi, stability
from xinyong.scorecard.population import TrainingPopulation

if TYPE_CHECKING:
    from xinyong.scorecard.train import TrainingReport

counts = st.lists(st.integers(0, 10_000), min_size=1, max_size=12).filter(lambda c: sum(c) > 0)


@given(counts)
def test_the_psi_of_a_population_against_itself_is_zero(expected: list[int]) -> None:
    assert psi(expected, expected) == 0.0
    assert psi(expected, [3 * count for count in expected]) == pytest.approx(0.0, abs=1e-12)


@given(counts, st.data())
def test_the_psi_is_never_negative(expected: list[int], data: st.DataObject) -> None:
    actual = data.draw(
        st.lists(st.integers(0, 10_000), min_size=len(expected), max_size=len(expected)).filter(
            lambda c: sum(c) > 0
        )
    )
    assert psi(expected, actual) >= 0.0


def test_the_psi_grows_as_mass_moves_away() -> None:
    base = [100, 100, 100, 100]
    moved = [psi(base, [100 + k, 100, 100, 100 - k]) for k in (0, 20, 40, 60, 80)]
    assert moved == sorted(moved) and moved[0] == 0.0 and moved[-1] > 0.25


def test_the_thresholds_read_stable_watch_shift() -> None:
    assert [stability(value) for value in (0.0, 0.099, 0.1, 0.25, 0.2501)] == [
        "stable",
        "stable",
        "watch",
        "watch",
        "shift",
    ]


def test_bins_must_match() -> None:
    with pytest.raises(ValueError, match="bins"):
        psi([1, 2], [1, 2, 3])


def fitted_rows(population: TrainingPopulation) -> list[dict[str, float]]:
    from xinyong.scorecard.train import holdout_split

    fit, _ = holdout_split(len(population.outcomes))
    return [population.features[index] for index in fit]


def test_the_training_population_against_itself_is_stable_at_zero(
    report: TrainingReport, population: TrainingPopulation
) -> None:
    result = monitor(report.scorecard, fitted_rows(population))
    assert result.current_subjects == result.training_subjects == report.training_subjects
    assert [item.psi for item in result.features] == [0.0] * len(result.features)
    assert result.score.psi == 0.0 and result.score.status == "stable"


def test_a_shifted_population_shows_a_growing_psi(
    report: TrainingReport, population: TrainingPopulation
) -> None:
    rows = fitted_rows(population)
    by_shift = []
    for shift in (0, 10, 25, 50):
        shifted = [
            {
                **row,
                "card_utilisation": row["card_utilisation"]
                if math.isnan(row["card_utilisation"])
                else row["card_utilisation"] + shift,
                "credit_accounts": row["credit_accounts"] + shift // 10,
            }
            for row in rows
        ]
        by_shift.append(monitor(report.scorecard, shifted))
    for name in ("card_utilisation", "credit_accounts", "score"):
        values = [
            result.score.psi
            if name == "score"
            else next(item.psi for item in result.features if item.name == name)
            for result in by_shift
        ]
        assert values == sorted(values) and values[0] == 0.0, (name, values)
        assert values[-1] > 0.25, (name, values)
    assert by_shift[-1].score.status == "shift"


def test_an_empty_population_is_refused(report: TrainingReport) -> None:
    with pytest.raises(ValueError, match="nobody"):
        monitor(report.scorecard, [])

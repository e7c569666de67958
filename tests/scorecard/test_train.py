"""Training on a small synthetic city: the latent risk is learnable, the card holds the figures."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import pytest

from xinyong.config import Settings
from xinyong.scorecard.features import FEATURE_NAMES
from xinyong.scorecard.model import BANDS, Scorecard
from xinyong.scorecard.population import TrainingPopulation

if TYPE_CHECKING:
    from xinyong.scorecard.train import TrainingReport


def test_the_holdout_ranks_defaulters_clearly_better_than_chance(report: TrainingReport) -> None:
    holdout = report.holdout
    assert holdout.auc > 0.62
    assert holdout.ks > 0.15
    assert 0 < holdout.defaulted < holdout.subjects
    assert report.training_subjects + holdout.subjects == report.card["data"]["subjects"]


def test_the_population_is_the_city_borrowers_with_a_plausible_default_rate(
    population: TrainingPopulation,
) -> None:
    subjects = len(population.outcomes)
    persons = population.source["persons"]
    assert 0.15 * persons < subjects < 0.35 * persons
    assert 0.04 < sum(population.outcomes) / subjects < 0.2
    assert len(set(population.subject_ids)) == subjects
    assert all(set(row) == set(FEATURE_NAMES) for row in population.features)


def test_defaulters_have_worse_records_on_average(population: TrainingPopulation) -> None:
    def mean(feature: str, outcome: int) -> float:
        values = [
            row[feature]
            for row, defaulted in zip(population.features, population.outcomes, strict=True)
            if defaulted == outcome
        ]
        return sum(values) / len(values)

    assert mean("max_days_overdue", 1) > 2 * mean("max_days_overdue", 0)
    assert mean("on_time_repayments", 1) < mean("on_time_repayments", 0)


def test_the_model_card_holds_the_figures(
    report: TrainingReport, population: TrainingPopulation
) -> None:
    from xinyong.scorecard.train import MODEL_CARD_JSON, MODEL_CARD_MARKDOWN

    card = orjson.loads((report.folder / MODEL_CARD_JSON).read_bytes())
    assert card == report.card
    assert card["version"] == report.scorecard.version == "test-1"
    assert card["metrics"]["holdout"] == {
        "subjects": report.holdout.subjects,
        "defaulted": report.holdout.defaulted,
        "auc": report.holdout.auc,
        "ks": report.holdout.ks,
    }
    assert card["data"]["digest"] == population.digest
    assert card["training_date"] == report.scorecard.trained_at.date().isoformat()
    assert [band["grade"] for band in card["bands"]] == [band.grade for band in BANDS]
    kept = {feature["name"] for feature in card["features"]}
    dropped = {feature["name"] for feature in card["left_out"]}
    assert kept | dropped == set(FEATURE_NAMES) and not kept & dropped
    assert len(kept) >= 4
    for feature, table in zip(card["features"], report.scorecard.features, strict=True):
        assert [(b["bin"], b["points"]) for b in feature["bins"]] == [
            (item.label, item.points) for item in table.all_bins()
        ]
    markdown = (report.folder / MODEL_CARD_MARKDOWN).read_text(encoding="utf-8")
    assert f"AUC {report.holdout.auc:.3f}" in markdown
    assert f"KS {report.holdout.ks:.3f}" in markdown
    assert population.digest in markdown
    assert all(f"### {name}" in markdown for name in kept)


def test_the_artefact_loads_by_version_by_latest_and_by_folder(
    report: TrainingReport, var_dir: Path
) -> None:
    settings = Settings(var_dir=var_dir)
    assert Scorecard.load("test-1", settings) == report.scorecard
    assert Scorecard.load("latest", settings) == report.scorecard
    assert Scorecard.load(report.folder) == report.scorecard
    with pytest.raises(FileNotFoundError, match="scorecard train"):
        Scorecard.load("no-such-version", settings)


def test_every_coefficient_kept_has_the_sign_of_lower_risk(report: TrainingReport) -> None:
    """The bins of each feature give more points where the training default rate is lower."""
    for feature in report.card["features"]:
        bins = [b for b in feature["bins"] if b["count"] > 0]
        by_rate = sorted(bins, key=lambda b: b["event_rate"])
        assert by_rate[0]["points"] >= by_rate[-1]["points"], feature["name"]


def test_too_few_subjects_to_train_are_refused(
    population: TrainingPopulation, tmp_path: Path
) -> None:
    from xinyong.scorecard.train import train

    tiny = TrainingPopulation(
        population.subject_ids[:4], population.features[:4], (0, 0, 0, 0), population.source
    )
    with pytest.raises(ValueError, match="defaulters and non-defaulters"):
        train(tiny, settings=Settings(var_dir=tmp_path))
    assert not (tmp_path / "scorecards").exists()

"""Training: a 350-950 scorecard from a population's financial features, with optbinning.

optbinning's ``BinningProcess`` finds, per feature, the bins that best separate defaulters
(optimal binning, monotonic in the direction the data shows); a logistic regression weighs
the bins' weights of evidence; ``Scorecard`` turns that into points per bin.

Scaling is ``min_max`` to 350-950, not points-to-double-the-odds: the range is the product's
contract (the Sesame-style bands cut it), and min-max makes the worst possible subject score
exactly 350 and the best exactly 950, the intercept spread over the features. Points are
rounded to integers (optbinning keeps the bounds while rounding), so the sum of the bins'
points is the score, and the JSON points table alone reproduces it.

A quarter of the subjects (drawn by a fixed seed) are held out; AUC and KS are measured on
them with the JSON points table, exactly as a subject will be scored.
"""

from __future__ import annotations

import logging
import os
import random
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from xinyong.clock import utc_now
from xinyong.config import Settings
from xinyong.scorecard.card import HoldoutMetrics, model_card, model_card_markdown
from xinyong.scorecard.features import FEATURE_NAMES, FEATURES
from xinyong.scorecard.model import (
    ARTEFACT,
    LATEST,
    MAX_SCORE,
    MIN_SCORE,
    Bin,
    FeatureTable,
    Scorecard,
    ScoreDistribution,
    scorecards_dir,
)
from xinyong.scorecard.population import TrainingPopulation

HOLDOUT_SHARE = 0.25
HOLDOUT_SEED = 20261122
SCORE_QUANTILES = tuple(step / 10 for step in range(1, 10))
MIN_BIN_SHARE = 0.05
MODEL_CARD_JSON = "model_card.json"
MODEL_CARD_MARKDOWN = "model_card.md"


@dataclass(frozen=True, slots=True)
class TrainingReport:
    scorecard: Scorecard
    folder: Path
    training_subjects: int
    holdout: HoldoutMetrics
    card: dict[str, Any]


def holdout_split(subjects: int, share: float = HOLDOUT_SHARE) -> tuple[list[int], list[int]]:
    """Indices to fit on and to hold out, drawn by a fixed seed (so retraining on the same
    data holds out the same subjects)."""
    order = list(range(subjects))
    random.Random(HOLDOUT_SEED).shuffle(order)
    cut = round(subjects * share)
    return sorted(order[cut:]), sorted(order[:cut])


def train(
    population: TrainingPopulation,
    *,
    version: str | None = None,
    settings: Settings | None = None,
    trained_at: datetime | None = None,
) -> TrainingReport:
    """Fit, measure on the holdout and save the artefact and model card as ``version``
    (default: the training time and data digest) under ``<var>/scorecards``."""
    trained_at = trained_at or utc_now().replace(microsecond=0)
    digest = population.digest
    version = version or f"{trained_at:%Y%m%dT%H%M%SZ}-{digest[:8]}"
    frame = pd.DataFrame(list(population.features), columns=list(FEATURE_NAMES), dtype=float)
    outcomes = np.asarray(population.outcomes, dtype=int)
    fit, held = holdout_split(len(outcomes))
    for name, part in (("training", fit), ("holdout", held)):
        if len(set(outcomes[part].tolist())) < 2:
            raise ValueError(
                f"the {name} part needs defaulters and non-defaulters; train on more subjects"
            )
    with warnings.catch_warnings():
        # optbinning's own use of pandas draws deprecation warnings that users cannot act on.
        warnings.filterwarnings("ignore", module="optbinning")
        fitted, left_out = _fit(frame.iloc[fit], outcomes[fit])
        table = fitted.table(style="detailed")
    scorecard = _scorecard(fitted, table, version, trained_at, frame.iloc[fit])
    metrics = _holdout(scorecard, frame.iloc[held], outcomes[held])
    folder = scorecards_dir(settings) / version
    card = model_card(scorecard, table, population, digest, metrics, left_out)
    _save(folder, scorecard, card)
    return TrainingReport(scorecard, folder, len(fit), metrics, card)


def _not_solver_import(record: logging.LogRecord) -> bool:
    return "importing solver" not in record.getMessage()


def _fit(frame: pd.DataFrame, outcomes: np.ndarray[Any, Any]) -> tuple[Any, list[str]]:
    """The fitted optbinning scorecard, and the features left out for a wrong sign.

    Bins enter the regression as weights of evidence, which grow as the default rate falls,
    so every coefficient must be negative. A feature that comes out positive (it moves with
    a stronger feature and only corrects it) would reward what its own bins say is risky, and
    make a wrong reason code: it is left out and the rest refitted.
    """
    # cvxpy, which optbinning imports, warns on stderr when an optional solver (HiGHS, never
    # used here) fails to import; a filter survives cvxpy configuring its logger on import.
    logging.getLogger("__cvxpy__").addFilter(_not_solver_import)
    from optbinning import BinningProcess
    from optbinning import Scorecard as OptScorecard
    from sklearn.linear_model import LogisticRegression

    names = list(FEATURE_NAMES)
    while True:
        fitted = OptScorecard(
            binning_process=BinningProcess(
                names,
                min_prebin_size=MIN_BIN_SHARE,
                binning_fit_params={name: {"monotonic_trend": "auto_asc_desc"} for name in names},
            ),
            estimator=LogisticRegression(),
            scaling_method="min_max",
            scaling_method_params={"min": MIN_SCORE, "max": MAX_SCORE},
            rounding=True,
        )
        fitted.fit(frame[names], outcomes)
        coefficients = dict(zip(names, fitted.estimator_.coef_[0], strict=True))
        wrong = [name for name, value in coefficients.items() if value > 0]
        if not wrong or len(wrong) == len(names):
            return fitted, [name for name in FEATURE_NAMES if name not in names]
        names = [name for name in names if name not in wrong]


def _scorecard(
    fitted: Any, table: pd.DataFrame, version: str, trained_at: datetime, frame: pd.DataFrame
) -> Scorecard:
    features = []
    for feature in FEATURES:
        if feature.name not in fitted.binning_process_.variable_names:
            continue
        rows = table[table["Variable"] == feature.name]
        binned = fitted.binning_process_.get_binned_variable(feature.name)
        bins = {
            str(row["Bin"]): Bin(
                label=str(row["Bin"]), points=round(row["Points"]), count=int(row["Count"])
            )
            for _, row in rows.iterrows()
        }
        regular = [item for label, item in bins.items() if label not in ("Special", "Missing")]
        features.append(
            FeatureTable(
                name=feature.name,
                description=feature.description,
                splits=tuple(float(split) for split in binned.splits),
                bins=tuple(regular),
                missing=bins["Missing"],
            )
        )
    unscored = Scorecard(
        version=version,
        trained_at=trained_at,
        features=tuple(features),
        scores=ScoreDistribution(edges=(), counts=(len(frame),)),
    )
    points = score_all(unscored, frame.to_dict("records"))
    edges = tuple(sorted({float(edge) for edge in np.quantile(points, SCORE_QUANTILES)}))
    counts = [0] * (len(edges) + 1)
    distribution = ScoreDistribution(edges=edges, counts=tuple(counts))
    for value in points:
        counts[distribution.index_of(value)] += 1
    return unscored.model_copy(
        update={"scores": ScoreDistribution(edges=edges, counts=tuple(counts))}
    )


def _holdout(
    scorecard: Scorecard, frame: pd.DataFrame, outcomes: np.ndarray[Any, Any]
) -> HoldoutMetrics:
    # A higher score means a lower risk, so the risk ranking is the negated score.
    risk = [-points for points in score_all(scorecard, frame.to_dict("records"))]
    false_positive, true_positive, _ = roc_curve(outcomes, risk)
    return HoldoutMetrics(
        subjects=len(outcomes),
        defaulted=int(outcomes.sum()),
        auc=round(float(roc_auc_score(outcomes, risk)), 4),
        ks=round(float(np.max(true_positive - false_positive)), 4),
    )


def _save(folder: Path, scorecard: Scorecard, card: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ARTEFACT).write_text(scorecard.model_dump_json(indent=2) + "\n", encoding="utf-8")
    (folder / MODEL_CARD_JSON).write_bytes(
        orjson.dumps(card, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    )
    (folder / MODEL_CARD_MARKDOWN).write_text(model_card_markdown(card), encoding="utf-8")
    # Written last, and by rename, so that ``latest`` never names a half-written artefact.
    marker = folder.parent / LATEST
    partial = marker.with_suffix(".partial")
    partial.write_text(folder.name + "\n", encoding="utf-8")
    os.replace(partial, marker)


def score_all(scorecard: Scorecard, rows: Sequence[Mapping[str, float]]) -> list[int]:
    """The points of each row of features."""
    return [scorecard.score(row).points for row in rows]

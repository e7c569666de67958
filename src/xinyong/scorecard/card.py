"""The model card: what a trained scorecard reads, how it was made and how well it ranks.

Written beside the artefact as JSON (for machines) and Markdown (for people), from the same
dictionary, so the two never disagree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from xinyong.scorecard.model import BANDS, MAX_SCORE, MIN_SCORE, Scorecard
from xinyong.scorecard.population import TrainingPopulation

NEVER_USES = (
    "public (non-financial) credit records: penalties, court listings, honours, ratings",
    "another subject's records, scores or relationships",
    "income, deposits, securities, insurance, property or tax amounts (Credit Reporting "
    "Regulation, Art. 14)",
    "identity: name, sex, age, region or identity number",
)


@dataclass(frozen=True, slots=True)
class HoldoutMetrics:
    subjects: int
    defaulted: int
    auc: float
    """Area under the ROC curve of the score against default (0.5 is chance)."""
    ks: float
    """Kolmogorov-Smirnov: largest gap between the score distributions of defaulters and
    non-defaulters."""


def _number(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else round(number, 6)


def model_card(
    scorecard: Scorecard,
    table: pd.DataFrame,
    population: TrainingPopulation,
    digest: str,
    metrics: HoldoutMetrics,
    left_out: Sequence[str],
) -> dict[str, Any]:
    """The card as a JSON-ready dictionary; ``table`` is optbinning's detailed table."""
    features = []
    for feature in scorecard.features:
        rows = table[table["Variable"] == feature.name]
        statistics = {str(row["Bin"]): row for _, row in rows.iterrows()}
        features.append(
            {
                "name": feature.name,
                "description": feature.description,
                "iv": _number(rows["IV"].sum()),
                "best_points": feature.best,
                "splits": list(feature.splits),
                "bins": [
                    {
                        "bin": item.label,
                        "points": item.points,
                        "count": item.count,
                        # An empty bin (e.g. no training subject had a missing value)
                        # has no default rate to report.
                        "event_rate": _number(statistics[item.label]["Event rate"])
                        if item.count
                        else None,
                        "woe": _number(statistics[item.label]["WoE"]) if item.count else None,
                    }
                    for item in feature.all_bins()
                ],
            }
        )
    subjects = len(population.outcomes)
    defaulted = sum(population.outcomes)
    return {
        "name": "financial.scorecard",
        "version": scorecard.version,
        "trained_at": scorecard.trained_at.isoformat(),
        "training_date": scorecard.trained_at.date().isoformat(),
        "data": {
            "source": population.source,
            "digest": digest,
            "subjects": subjects,
            "defaulted": defaulted,
            "default_rate": round(defaulted / subjects, 4) if subjects else None,
            "outcome": "default in the 12 months after the as-of date",
        },
        "method": {
            "binning": "optbinning BinningProcess: optimal binning, monotonic trend per feature",
            "estimator": "logistic regression (scikit-learn) on the bins' weights of evidence",
            "scaling": f"min_max: the worst possible subject scores {MIN_SCORE}, the best "
            f"{MAX_SCORE}; integer points per bin, summed",
        },
        "metrics": {
            "holdout": {
                "subjects": metrics.subjects,
                "defaulted": metrics.defaulted,
                "auc": metrics.auc,
                "ks": metrics.ks,
            }
        },
        "range": [scorecard.min, scorecard.max],
        "bands": [band._asdict() for band in BANDS],
        "reason_codes": "the four features that cost the subject the most points below "
        "their best bin",
        "features": features,
        "left_out": [
            {"name": name, "reason": "wrong-sign coefficient (it moved with a stronger feature)"}
            for name in left_out
        ],
        "never_uses": list(NEVER_USES),
    }


def model_card_markdown(card: dict[str, Any]) -> str:
    data, holdout = card["data"], card["metrics"]["holdout"]
    lines = [
        f"# Model card: {card['name']} {card['version']}",
        "",
        f"Trained {card['trained_at']} on {data['subjects']:,} borrowers of a "
        f"{data['source']['kind']} ({data['defaulted']:,} defaulted, "
        f"{data['default_rate']:.1%}); data digest `{data['digest']}`.",
        f"Outcome: {data['outcome']}.",
        "",
        "## Quality on the holdout",
        "",
        f"{holdout['subjects']:,} borrowers held out ({holdout['defaulted']:,} defaulted): "
        f"**AUC {holdout['auc']:.3f}**, **KS {holdout['ks']:.3f}**.",
        "",
        "## Method",
        "",
        *(f"- {key}: {value}" for key, value in card["method"].items()),
        "",
        "## Bands",
        "",
        "| grade | 中文 | points |",
        "|---|---|---|",
        *(f"| {b['en']} | {b['zh']} | {b['min']}-{b['max']} |" for b in card["bands"]),
        "",
        f"Reason codes: {card['reason_codes']}.",
        "",
        "## Features and points",
        "",
    ]
    for feature in card["features"]:
        lines += [
            f"### {feature['name']}",
            "",
            f"{feature['description']}; information value {feature['iv']}.",
            "",
            "| bin | points | training subjects | default rate | WoE |",
            "|---|---:|---:|---:|---:|",
            *(
                f"| {b['bin']} | {b['points']} | {b['count']:,} | "
                f"{'' if b['event_rate'] is None else format(b['event_rate'], '.1%')} | "
                f"{'' if b['woe'] is None else format(b['woe'], '.3f')} |"
                for b in feature["bins"]
            ),
            "",
        ]
    if card["left_out"]:
        lines += [
            "## Left out",
            "",
            *(f"- {item['name']}: {item['reason']}" for item in card["left_out"]),
            "",
        ]
    lines += ["## Never used", "", *(f"- {item}" for item in card["never_uses"]), ""]
    return "\n".join(lines)

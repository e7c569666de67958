"""A trained scorecard as it is kept and used: a points table in JSON, loaded without pickle.

The artefact ``<var>/scorecards/<version>/scorecard.json`` holds, per feature, the bin edges
and the points of each bin (and of a missing value). A subject's score is the sum of the
points of the bins its features fall in: 350 to 950 by construction (see ``train``). Its
reasons are the four features that cost it the most points below their best bin.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, model_validator

from xinyong.config import Settings, get_settings
from xinyong.records.facts import RecordFact
from xinyong.scorecard.features import features_of
from xinyong.scoring.scorecard import FeaturePoints

ARTEFACT = "scorecard.json"
LATEST = "LATEST"
"""A file beside the versions naming the newest one; ``latest`` reads it."""
MIN_SCORE = 350
MAX_SCORE = 950
REASONS = 4


class Band(NamedTuple):
    """A band of scores (both ends inclusive) and how it is read out."""

    grade: str
    zh: str
    en: str
    min: int
    max: int


BANDS = (
    Band("poor", "较差", "poor", 350, 549),
    Band("fair", "中等", "fair", 550, 599),
    Band("good", "良好", "good", 600, 649),
    Band("very_good", "优秀", "very good", 650, 699),
    Band("excellent", "极好", "excellent", 700, 950),
)
"""Sesame Credit's bands (docs/sources.md §6): 350-550, 550-600, 600-650, 650-700, 700-950, each
shared edge going to the upper band."""


def band_of(points: int) -> str:
    return next(band.grade for band in BANDS if band.min <= points <= band.max)


class Contribution(NamedTuple):
    """The points one feature gives: the feature, the bin its value fell in, the points."""

    feature: str
    bin: str
    points: int


class Reason(NamedTuple):
    """A reason code: a feature whose bin gave ``lost`` points fewer than its best bin."""

    feature: str
    bin: str
    points: int
    lost: int
    description: str


class ScorecardResult(NamedTuple):
    points: int
    band: str
    contributions: list[Contribution]
    reasons: list[Reason]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Bin(_Model):
    label: str
    """How optbinning prints the interval, e.g. ``[0.50, 1.50)``; ``Missing`` for no value."""
    points: int
    count: int
    """Training subjects in the bin (for monitoring)."""


class FeatureTable(_Model):
    """One feature's bins: ``splits`` cut the line into ``len(splits) + 1`` intervals
    ``(-inf, s0), [s0, s1), ..., [s_last, inf)``; a missing value has a bin of its own."""

    name: str
    description: str
    splits: tuple[float, ...]
    bins: tuple[Bin, ...]
    missing: Bin

    @model_validator(mode="after")
    def _bins_fit_splits(self) -> FeatureTable:
        if len(self.bins) != len(self.splits) + 1:
            raise ValueError(
                f"{self.name}: {len(self.splits)} splits need {len(self.splits) + 1} bins"
            )
        if list(self.splits) != sorted(self.splits):
            raise ValueError(f"{self.name}: splits are not in ascending order")
        return self

    def index_of(self, value: float | None) -> int:
        """Position of the value's bin in ``all_bins()`` (the last is the missing bin)."""
        if value is None or math.isnan(value):
            return len(self.bins)
        return bisect_right(self.splits, value)

    def bin_of(self, value: float | None) -> Bin:
        return self.all_bins()[self.index_of(value)]

    @property
    def best(self) -> int:
        """Most points the feature gives any subject (a missing value counts only if some
        training subject had one)."""
        candidates = [item.points for item in self.bins]
        if self.missing.count:
            candidates.append(self.missing.points)
        return max(candidates)

    def all_bins(self) -> tuple[Bin, ...]:
        return (*self.bins, self.missing)


class ScoreDistribution(_Model):
    """The training population's scores counted between ``edges`` (the same rule as bins)."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]

    @model_validator(mode="after")
    def _counts_fit_edges(self) -> ScoreDistribution:
        if len(self.counts) != len(self.edges) + 1:
            raise ValueError(f"{len(self.edges)} edges need {len(self.edges) + 1} counts")
        return self

    def index_of(self, points: float) -> int:
        return bisect_right(self.edges, points)


class Scorecard(_Model):
    """A trained scorecard: everything needed to score, explain and monitor."""

    version: str
    trained_at: datetime
    min: int = MIN_SCORE
    max: int = MAX_SCORE
    features: tuple[FeatureTable, ...]
    scores: ScoreDistribution

    @classmethod
    def load(cls, path_or_version: str | Path, settings: Settings | None = None) -> Scorecard:
        """The artefact in a folder, or the version of that name (``latest``: the newest)
        under ``<var>/scorecards``."""
        folder = artefact_folder(path_or_version, settings)
        path = folder / ARTEFACT
        if not path.is_file():
            raise FileNotFoundError(
                f"no scorecard artefact at {path}; run `xinyong scorecard train`"
            )
        return cls.model_validate_json(path.read_bytes())

    def score(self, features: Mapping[str, float]) -> ScorecardResult:
        """The points, band, contribution of each feature and the reasons (the four features
        that cost the most points below their best bin, largest loss first)."""
        contributions: list[Contribution] = []
        losses: list[Reason] = []
        for table in self.features:
            chosen = table.bin_of(features.get(table.name))
            contributions.append(Contribution(table.name, chosen.label, chosen.points))
            lost = table.best - chosen.points
            if lost > 0:
                losses.append(
                    Reason(table.name, chosen.label, chosen.points, lost, table.description)
                )
        losses.sort(key=lambda reason: (-reason.lost, reason.feature))
        points = sum(item.points for item in contributions)
        return ScorecardResult(points, band_of(points), contributions, losses[:REASONS])

    def feature_points(self, records: Sequence[RecordFact], as_of: date) -> list[FeaturePoints]:
        """The points of each feature for the subject whose records these are (the scheme
        has already kept only the records in effect on ``as_of``); their sum is the score."""
        result = self.score(features_of(records))
        return [FeaturePoints(item.feature, item.points) for item in result.contributions]


def scorecards_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).var_dir / "scorecards"


def artefact_folder(path_or_version: str | Path, settings: Settings | None = None) -> Path:
    """Where the artefact ``path_or_version`` lives: a folder as given, or a version name."""
    given = Path(path_or_version)
    if given.is_dir():
        return given
    root = scorecards_dir(settings)
    name = str(path_or_version)
    if name == "latest":
        marker = root / LATEST
        if not marker.is_file():
            raise FileNotFoundError(
                f"no scorecard trained under {root}; run `xinyong scorecard train`"
            )
        name = marker.read_text(encoding="utf-8").strip()
    return root / name

"""A small synthetic population and a scorecard trained on it, shared by the module's tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from xinyong.config import Settings
from xinyong.policy import Pack, load_shipped
from xinyong.scorecard.population import TrainingPopulation, synthetic_population

if TYPE_CHECKING:
    # Training imports scikit-learn and pandas (seconds): only the worker that runs the
    # scorecard tests pays for them, not every worker's collection.
    from xinyong.scorecard.train import TrainingReport

PERSONS = 5_000
SEED = 7
AS_OF = date(2026, 11, 1)


@pytest.fixture(scope="session")
def financial() -> Pack:
    return load_shipped("financial")


@pytest.fixture(scope="session")
def population(financial: Pack) -> TrainingPopulation:
    return synthetic_population(financial, PERSONS, SEED, AS_OF)


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="session")
def report(population: TrainingPopulation, var_dir: Path) -> TrainingReport:
    from xinyong.scorecard.train import train

    return train(population, version="test-1", settings=Settings(var_dir=var_dir))

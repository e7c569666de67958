"""Fixtures of the scoring tests."""

from __future__ import annotations

import pytest

from xinyong.policy import load_shipped
from xinyong.policy.schemes import PointsScheme


@pytest.fixture(scope="session")
def city_points() -> PointsScheme:
    scheme = load_shipped("city-pilot").schemes["city.points"]
    assert isinstance(scheme, PointsScheme)
    return scheme

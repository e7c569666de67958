"""The lock files pin, with hashes, a version of every dependency that pyproject.toml allows."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = PROJECT["optional-dependencies"]
LOCKS = {
    "requirements.lock": ["scorecard", "reports", "synth"],
    "requirements-dev.lock": list(EXTRAS),
}


def pinned(lock: str) -> dict[str, Version]:
    text = (ROOT / lock).read_text()
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+) \\\n\s+--hash=sha256:", text, re.MULTILINE)
    return {canonicalize_name(name): Version(version) for name, version in pins}


@pytest.mark.parametrize("lock", LOCKS)
def test_the_lock_pins_every_dependency_within_its_range(lock: str) -> None:
    pins = pinned(lock)
    wanted = [*PROJECT["dependencies"], *(r for extra in LOCKS[lock] for r in EXTRAS[extra])]
    outside = []
    for line in wanted:
        requirement = Requirement(line)
        version = pins.get(canonicalize_name(requirement.name))
        if version is None or version not in requirement.specifier:
            outside.append((requirement.name, str(requirement.specifier), version))
    assert outside == [], "run `make lock`"


def test_faker_is_pinned_exactly() -> None:
    """A synthetic city's bytes depend on Faker's data: one version on every machine."""
    (faker,) = [Requirement(line) for line in EXTRAS["synth"] if line.startswith("Faker")]
    assert [spec.operator for spec in faker.specifier] == ["=="]

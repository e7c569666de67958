"""The served platform of the mirror tests: datasets are published from it and fetched over
HTTP on 127.0.0.1."""

from tests.mirror.conftest import platform

__all__ = ["platform"]

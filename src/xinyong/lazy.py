"""A package's names imported on first use, so that a command loads only the modules it uses."""

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def exports(package: dict[str, Any], modules: Mapping[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of the package whose globals are ``package``: each name of
    ``modules`` is imported from the module it maps to when first asked for, then kept."""

    def attribute(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package['__name__']!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        package[name] = value
        return value

    return attribute

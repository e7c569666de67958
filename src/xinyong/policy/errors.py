"""Problems found in a policy pack, reported together so an operator can fix them in one pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Location = tuple[str | int, ...]
"""Keys and list indexes from a document's root to a value."""


def format_location(location: Location) -> str:
    """``("record_types", 2, "legal_basis")`` -> ``record_types[2].legal_basis``."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(frozen=True)
class PolicyIssue:
    """One problem: the file (relative to the pack folder), the place inside it and what is wrong.

    ``path`` is a dotted and indexed location such as ``record_types[2].legal_basis``; it is
    empty when the problem concerns the file as a whole. ``line`` is 1-based when known.
    """

    file: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.path:
            return f"{where}: {self.path}: {self.message}"
        return f"{where}: {self.message}"

    def as_json(self) -> dict[str, str | int | None]:
        return {"file": self.file, "line": self.line, "path": self.path, "message": self.message}


class PolicyError(Exception):
    """A pack was refused; ``issues`` lists every problem found, not only the first."""

    def __init__(self, issues: Sequence[PolicyIssue]) -> None:
        self.issues: list[PolicyIssue] = list(issues)
        count = len(self.issues)
        listing = "\n".join(f"  {issue}" for issue in self.issues)
        super().__init__(
            f"policy pack refused ({count} issue{'s' if count != 1 else ''}):\n{listing}"
        )

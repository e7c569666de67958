"""Which identifiers a decision may rest on.

A decision about a mistyped identity number would be about nobody: ``allow, known: false`` for
a passenger whose real number is listed. So an identifier must pass its check (GB 11643 or
GB 32100) before anything is decided, with one exception: a code whose only fault is a check
character and that the platform holds, because registries have issued such codes and ingest
keeps them when the registration authority provides them (see ``xinyong.identifiers``).
"""

import hashlib
from collections.abc import Callable
from datetime import date

from xinyong.identifiers import ParsedIdentifier, parse, resident_id


class UndecidableSubject(ValueError):
    """An identifier no decision may rest on; the message is what ``xinyong id`` reports."""

    def __init__(self, parsed: ParsedIdentifier) -> None:
        self.parsed = parsed
        super().__init__(f"{parsed.kind.value}, {parsed.status}: {'; '.join(parsed.errors)}")


def decidable(raw: str, today: date, holds: Callable[[str], bool]) -> str:
    """The normal form of ``raw`` if a decision may rest on it, else ``UndecidableSubject``.

    ``holds(code)`` says whether the platform has a subject with exactly that identifier.
    """
    # Most callers send valid resident identity numbers in normal form: one cheap test.
    if resident_id.is_valid(raw, today):
        return raw
    parsed = parse(raw, today=today)
    if parsed.valid or (parsed.suspect and holds(parsed.code)):
        return parsed.code
    raise UndecidableSubject(parsed)


def subject_key(identifier: str) -> int:
    """A stable signed 64-bit key of an identifier (the first 8 bytes of its BLAKE2b hash).

    Distinct identifiers may share a key, so a look-up also compares ``subject``.
    """
    digest = hashlib.blake2b(identifier.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)

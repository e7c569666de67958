"""Building blocks shared by every policy document, and the pack manifest (``pack.yaml``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from xinyong.policy.folders import PACK_NAME_PATTERN

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class PolicyModel(BaseModel):
    """Base of every policy model: immutable once loaded, and unknown keys are typos, not data."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Bilingual(PolicyModel):
    """A text in Chinese and English; both are shown to people, so both are required."""

    zh: NonEmpty
    """Chinese text (zh-CN)."""
    en: NonEmpty
    """English text."""

    def __str__(self) -> str:
        return f"{self.zh} ({self.en})"


class LegalBasis(PolicyModel):
    """A law, regulation, judicial interpretation or policy document that grounds a rule."""

    title: NonEmpty
    """Full title with its document number, e.g. ``中华人民共和国行政处罚法``."""
    article: NonEmpty | None = None
    """The article or articles relied on, e.g. ``Art. 1`` or ``Arts. 78-79``."""
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = None
    """Where the public can read the text."""


class PackManifest(PolicyModel):
    """``pack.yaml``: what the pack is called and which pack it builds on."""

    name: Annotated[str, StringConstraints(pattern=PACK_NAME_PATTERN)]
    """Short name, lower case: letters, digits, ``-`` and ``_``."""
    version: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z][0-9A-Za-z.+-]*$")]
    """Version of this pack; quote it in YAML (``"2024.1"``) so it stays text."""
    title: Bilingual
    """Human title in Chinese and English."""
    description: NonEmpty
    """What the pack models and where its rules come from."""
    extends: Annotated[str, StringConstraints(pattern=PACK_NAME_PATTERN)] | None = None
    """Name of the pack this one builds on: a sibling folder of that name, else a shipped pack."""


class CodedModel(PolicyModel):
    """An item of a pack concept: every item has a code, unique within its concept."""

    code: NonEmpty


class ItemDocument(PolicyModel, ABC):
    """A document that holds a list of items of one concept under one top-level key."""

    @abstractmethod
    def items(self) -> Sequence[CodedModel]:
        """The items, in file order (their index is part of every issue's path)."""

"""Memoranda: joint agreements that apply measures to the subjects of lists (``memoranda.yaml``)."""

from __future__ import annotations

from pydantic import Field

from xinyong.policy.lists import AppliedMeasure
from xinyong.policy.models import Bilingual, CodedModel, ItemDocument, LegalBasis, NonEmpty


class Memorandum(CodedModel):
    """A joint memorandum: who signed it, which lists trigger it, which measures follow."""

    code: NonEmpty
    """Stable identifier, e.g. ``memo.2016.judgment_defaulters``."""
    title: Bilingual
    """Title in Chinese and English."""
    document_no: NonEmpty
    """Document number, e.g. ``发改财金〔2016〕141号``."""
    legal_basis: tuple[LegalBasis, ...] = Field(min_length=1)
    """The memorandum itself and the instruments it rests on."""
    signatories: tuple[Bilingual, ...] = Field(min_length=1)
    """The bodies that signed it."""
    triggers: tuple[NonEmpty, ...] = Field(min_length=1)
    """Codes of the lists whose entries it applies to."""
    measures: tuple[AppliedMeasure, ...] = Field(min_length=1)
    """The measures it applies."""


class MemorandaDocument(ItemDocument):
    """The file ``memoranda.yaml``: a list of memoranda."""

    memoranda: tuple[Memorandum, ...] = Field(min_length=1)
    """The memoranda of this pack."""

    def items(self) -> tuple[Memorandum, ...]:
        return self.memoranda

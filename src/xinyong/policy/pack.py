"""A loaded policy pack, with the look-ups the ingest hot path uses."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Annotated, Any

from pydantic import Field, PrivateAttr, StringConstraints, model_validator

from xinyong.policy.actions import Action
from xinyong.policy.authorities import Authority
from xinyong.policy.catalogue import RecordType
from xinyong.policy.concepts import CONCEPTS
from xinyong.policy.errors import format_location
from xinyong.policy.fields_schema import FieldsValidator
from xinyong.policy.jurisdiction import Jurisdiction
from xinyong.policy.lists import CreditList
from xinyong.policy.measures import Measure
from xinyong.policy.memoranda import Memorandum
from xinyong.policy.models import Bilingual, CodedModel, NonEmpty, PolicyModel
from xinyong.policy.notices import Announcement, HelpPage
from xinyong.policy.profiles import Profile
from xinyong.policy.references import reference_problems, submission_pairs
from xinyong.policy.rights import RightsProcedure
from xinyong.policy.schemes import PointsScheme, ScorecardScheme, TiersScheme

Digest = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Pack(PolicyModel):
    """Every item of a pack (its own and those of the pack it extends), keyed by code."""

    name: NonEmpty
    version: NonEmpty
    title: Bilingual
    description: NonEmpty
    extends: NonEmpty | None = None
    digest: Digest
    """sha256 of the pack's files (see ``xinyong.policy.loader.pack_digest``); the ledger
    records it with every decision made under the pack."""
    # One field per concept of ``concepts.CONCEPTS``, named by its key.
    record_types: dict[str, RecordType]
    authorities: dict[str, Authority]
    actions: dict[str, Action] = Field(default_factory=dict)
    measures: dict[str, Measure] = Field(default_factory=dict)
    lists: dict[str, CreditList] = Field(default_factory=dict)
    memoranda: dict[str, Memorandum] = Field(default_factory=dict)
    schemes: dict[str, PointsScheme | TiersScheme | ScorecardScheme] = Field(default_factory=dict)
    rights: dict[str, RightsProcedure] = Field(default_factory=dict)
    profiles: dict[str, Profile] = Field(default_factory=dict)
    help: dict[str, HelpPage] = Field(default_factory=dict)
    announcements: dict[str, Announcement] = Field(default_factory=dict)

    _submissions: frozenset[tuple[str, str]] = PrivateAttr(default_factory=frozenset)
    _validators: dict[str, FieldsValidator] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Pack:
        items = {concept.key: self.concept_items(concept.key) for concept in CONCEPTS}
        problems = [
            f"{concept}: key {key!r} holds item {item.code!r}"
            for concept, by_code in items.items()
            for key, item in by_code.items()
            if key != item.code
        ]
        problems.extend(
            f"{problem.concept}[{problem.code!r}].{format_location(problem.location)}: "
            f"{problem.message}"
            for problem in reference_problems(items)
        )
        if problems:
            raise ValueError("; ".join(problems))
        # Precomputed once so that the per-row checks of ingest are set and dict look-ups.
        self._submissions = submission_pairs(self.record_types, self.authorities)
        self._validators = {
            code: record_type.fields_validator for code, record_type in self.record_types.items()
        }
        return self

    def __getstate__(self) -> dict[Any, Any]:
        """The pack as pickle sends it to another process (ingest's validation workers): without
        its compiled validators, code made at run time that pickle cannot name."""
        state = super().__getstate__()
        private = {**state["__pydantic_private__"], "_validators": {}}
        return {**state, "__pydantic_private__": private}

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        self._validators = {
            code: record_type.fields_validator for code, record_type in self.record_types.items()
        }

    def concept_items(self, key: str) -> Mapping[str, CodedModel]:
        """The items of one concept by code, e.g. ``concept_items("record_types")``."""
        items: Mapping[str, CodedModel] = getattr(self, key)
        return items

    def may_submit(self, authority: str, record_type: str) -> bool:
        """Whether ``authority`` may submit ``record_type`` records (False if either is unknown)."""
        return (authority, record_type) in self._submissions

    @cached_property
    def jurisdiction(self) -> Jurisdiction:
        """About which subjects each authority may submit each type it may submit.

        A cached property, not a private attribute: ingest reads it on every row, and a
        pydantic private attribute costs a ``__getattr__`` call each time.
        """
        return Jurisdiction(self.record_types, self.authorities, self._submissions)

    def record_type(self, code: str) -> RecordType:
        """The record type ``code``; ``KeyError`` if the catalogue has no such item."""
        try:
            return self.record_types[code]
        except KeyError:
            raise KeyError(f"no record type {code!r} in policy pack {self.name}") from None

    def authority(self, code: str) -> Authority:
        """The authority ``code``; ``KeyError`` if the pack has no such authority."""
        try:
            return self.authorities[code]
        except KeyError:
            raise KeyError(f"no authority {code!r} in policy pack {self.name}") from None

    def validator(self, code: str) -> FieldsValidator:
        """Compiled validator of a record's ``fields`` for record type ``code``.

        It returns the fields when valid and raises
        ``fastjsonschema.JsonSchemaValueException`` (with ``message`` and ``path``) otherwise.
        """
        try:
            return self._validators[code]
        except KeyError:
            raise KeyError(f"no record type {code!r} in policy pack {self.name}") from None

    @property
    def policy_version(self) -> str:
        """``name@version+digest prefix``: names the exact rules a decision was made under."""
        return f"{self.name}@{self.version}+{self.digest[:12]}"

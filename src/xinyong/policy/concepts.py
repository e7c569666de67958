"""The registry of pack files: which file holds which concept, and the model of its items.

Adding a concept (scoring schemes next) is: its item model and a
document model (an ``ItemDocument``), one ``Concept`` line here, a field of the same name on
``Pack``, and its cross-reference rules in ``references``. Any other file in a pack folder is
refused, so a misspelt file name cannot be silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

from xinyong.policy.actions import Action, ActionsDocument
from xinyong.policy.authorities import AuthoritiesDocument, Authority
from xinyong.policy.catalogue import CatalogueDocument, RecordType
from xinyong.policy.folders import PACK_FILE as PACK_FILE
from xinyong.policy.lists import CreditList, ListsDocument
from xinyong.policy.measures import Measure, MeasuresDocument
from xinyong.policy.memoranda import MemorandaDocument, Memorandum
from xinyong.policy.models import CodedModel, ItemDocument
from xinyong.policy.notices import Announcement, AnnouncementsDocument, HelpDocument, HelpPage
from xinyong.policy.profiles import Profile, ProfilesDocument
from xinyong.policy.rights import RightsDocument, RightsProcedure
from xinyong.policy.schemes import AnyScheme, SchemesDocument


@dataclass(frozen=True)
class Concept:
    """One kind of pack item and the file or files (``folder/*.yaml``) that hold it."""

    key: str
    """Top-level key of its documents, and the name of the ``Pack`` field holding its items."""
    pattern: str
    """``name.yaml`` for one file, ``folder/*.yaml`` for one file per group of items."""
    document: type[ItemDocument]
    item: type[CodedModel]
    """Model of one item, used to keep the valid items of a document that has invalid ones."""

    @property
    def entry(self) -> str:
        """The name this concept occupies at the top of a pack folder."""
        return self.pattern.split("/", 1)[0]

    @property
    def is_folder(self) -> bool:
        return "/" in self.pattern

    def holds(self, relative_path: str) -> bool:
        return fnmatchcase(relative_path, self.pattern) and (
            relative_path.count("/") == self.pattern.count("/")
        )

    @property
    def path_regex(self) -> str:
        """The pattern as a regular expression over relative paths (for JSON Schema)."""
        return "^" + re.escape(self.pattern).replace(r"\*", "[^/]+") + "$"


CONCEPTS: tuple[Concept, ...] = (
    Concept("authorities", "authorities.yaml", AuthoritiesDocument, Authority),
    Concept("record_types", "catalogue/*.yaml", CatalogueDocument, RecordType),
    Concept("actions", "actions.yaml", ActionsDocument, Action),
    Concept("measures", "measures.yaml", MeasuresDocument, Measure),
    Concept("lists", "lists.yaml", ListsDocument, CreditList),
    Concept("memoranda", "memoranda.yaml", MemorandaDocument, Memorandum),
    Concept("schemes", "schemes/*.yaml", SchemesDocument, AnyScheme),
    Concept("rights", "rights.yaml", RightsDocument, RightsProcedure),
    Concept("profiles", "profiles/*.yaml", ProfilesDocument, Profile),
    Concept("help", "help/*.yaml", HelpDocument, HelpPage),
    Concept("announcements", "announcements/*.yaml", AnnouncementsDocument, Announcement),
)

KNOWN_ENTRIES: tuple[str, ...] = (PACK_FILE, *(concept.entry for concept in CONCEPTS))

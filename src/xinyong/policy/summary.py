"""A short account of a loaded pack: what the CLI prints and what the store will publish."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, ConfigDict

from xinyong.policy.authorities import AuthorityKind
from xinyong.policy.catalogue import Category
from xinyong.policy.pack import Pack


class PackSummary(BaseModel):
    """Name, version, digest and counts of a pack."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: str
    title: str
    extends: str | None
    digest: str
    record_types: int
    authorities: int
    record_types_by_category: dict[Category, int]
    """Every category, in catalogue order, including those with no record type."""
    authorities_by_kind: dict[AuthorityKind, int]
    """Only the kinds the pack has."""


def summarise(pack: Pack) -> PackSummary:
    categories = Counter(record_type.category for record_type in pack.record_types.values())
    kinds = Counter(authority.kind for authority in pack.authorities.values())
    return PackSummary(
        name=pack.name,
        version=pack.version,
        title=str(pack.title),
        extends=pack.extends,
        digest=pack.digest,
        record_types=len(pack.record_types),
        authorities=len(pack.authorities),
        record_types_by_category={category: categories[category] for category in Category},
        authorities_by_kind={kind: kinds[kind] for kind in AuthorityKind if kinds[kind]},
    )

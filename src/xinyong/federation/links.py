"""The node's neighbours, as its settings name them, and what each may send and receive.

Upwards a node sends every record event it did not receive from its parent: records accepted
here or below, and repairs, objection outcomes, corrections and withdrawals decided here. The
parent takes from a child only the records of the child's authorities (those whose area lies
within one of the child's regions): jurisdiction holds across nodes.

Downwards a node sends a child the events of the documents the child holds (it sent them up,
or received them from here), and every record that grounds or ends an entry on a list: lists
bind everywhere (a defaulter listed in one city may not fly from another), so every node must
be able to answer checks about them.
"""

from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from xinyong.config import NodeLink, Settings
from xinyong.ledger.checkpoint import CheckpointError, VerifierKey
from xinyong.ledger.cosignature import CosignerKey
from xinyong.policy import Pack


class Direction(StrEnum):
    PARENT = "parent"
    CHILD = "child"


def region_area(region: str) -> str:
    """The GB/T 2260 prefix a division covers: ``11`` for 110000, ``1101`` for 110100."""
    area = region
    while area.endswith("00"):
        area = area[:-2]
    return area


@dataclass(frozen=True)
class Link:
    """One neighbour: its settings and where it stands from here."""

    node: NodeLink
    direction: Direction

    @property
    def name(self) -> str:
        return self.node.name

    @cached_property
    def verifier(self) -> VerifierKey:
        """The neighbour's ledger key: its batches, checkpoints and cosignatures verify with it."""
        return VerifierKey.parse(self.node.key)

    @cached_property
    def cosigner(self) -> CosignerKey:
        return CosignerKey.of(self.verifier)

    @cached_property
    def areas(self) -> tuple[str, ...]:
        return tuple(region_area(region) for region in self.node.regions)

    def hosts(self, pack: Pack, authority: str) -> bool:
        """Whether ``authority`` belongs to this child's part of the network."""
        found = pack.authorities.get(authority)
        return found is not None and any(found.area.startswith(area) for area in self.areas)


class LinkError(ValueError):
    """A neighbour named in the settings with a key that is not a ledger verifier key."""


def links(settings: Settings) -> list[Link]:
    """Every neighbour of this node: the parent first, then the children; raises LinkError."""
    found = []
    if settings.node_parent is not None:
        found.append(Link(settings.node_parent, Direction.PARENT))
    found += [Link(child, Direction.CHILD) for child in settings.node_children]
    for link in found:
        try:
            link.verifier  # noqa: B018 (parsed once, here, so a bad key is said at start)
        except CheckpointError as error:
            raise LinkError(f"the key of the neighbour {link.name}: {error}") from None
    return found


def link_named(settings: Settings, name: str) -> Link | None:
    return next((link for link in links(settings) if link.name == name), None)


def listed_types(pack: Pack) -> frozenset[str]:
    """The record types that put a subject on a list or take it off one."""
    types: set[str] = set()
    for credit_list in pack.lists.values():
        types.update(rule.record_type for rule in credit_list.entry)
        if credit_list.removal is not None:
            types.update(credit_list.removal.record_types)
    return frozenset(types)

"""The verifiable ledger: every state change as a leaf of an RFC 9162 Merkle tree, with signed
checkpoints and inclusion and consistency proofs that anyone can check offline.

Features log their events with ``append`` inside their own transaction, and tell the ledger
where the content of their events lives with ``register_source``. Each leaf is a salted
commitment to its event (``xinyong.ledger.commitment``): the tree is public, the events are not.
When an event's retention ends, ``erase`` forgets what opens it and keeps the tree whole.

Importing the package loads none of its modules: each name below is imported when it is first
used, so that what appends without SQLAlchemy (``xinyong.ledger.bare``) does not load it.
"""

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

from xinyong.lazy import exports

if TYPE_CHECKING:
    from xinyong.ledger.checkpoint import Checkpoint, SigningKey, TreeHead, VerifierKey
    from xinyong.ledger.erasure import erase
    from xinyong.ledger.events import LeafInput
    from xinyong.ledger.service import (
        append,
        checkpoint,
        consistency_proof,
        inclusion_proof,
        tree_head,
    )
    from xinyong.ledger.sources import RebuildPayloads, register_source
    from xinyong.ledger.verification import Divergence, VerifyReport, verify

_MODULES = {
    "Checkpoint": "xinyong.ledger.checkpoint",
    "SigningKey": "xinyong.ledger.checkpoint",
    "TreeHead": "xinyong.ledger.checkpoint",
    "VerifierKey": "xinyong.ledger.checkpoint",
    "erase": "xinyong.ledger.erasure",
    "LeafInput": "xinyong.ledger.events",
    "append": "xinyong.ledger.service",
    "consistency_proof": "xinyong.ledger.service",
    "inclusion_proof": "xinyong.ledger.service",
    "tree_head": "xinyong.ledger.service",
    "RebuildPayloads": "xinyong.ledger.sources",
    "register_source": "xinyong.ledger.sources",
    "Divergence": "xinyong.ledger.verification",
    "VerifyReport": "xinyong.ledger.verification",
    "verify": "xinyong.ledger.verification",
}
"""Where each public name lives."""


__getattr__ = exports(globals(), _MODULES)


class _Ledger(ModuleType):
    """The package, whose ``checkpoint`` is ``service.checkpoint``, as it was when the package
    imported its modules at once: the import system sets the package's attribute of each
    submodule it loads, and would make ``checkpoint`` the module ``ledger.checkpoint``."""

    @property
    def checkpoint(self) -> Any:
        return import_module("xinyong.ledger.service").checkpoint

    @checkpoint.setter
    def checkpoint(self, _module: ModuleType) -> None:
        pass  # the submodule stays in sys.modules, where imports find it


sys.modules[__name__].__class__ = _Ledger


__all__ = [
    "Checkpoint",
    "Divergence",
    "LeafInput",
    "RebuildPayloads",
    "SigningKey",
    "TreeHead",
    "VerifierKey",
    "VerifyReport",
    "append",
    "checkpoint",
    "consistency_proof",
    "erase",
    "inclusion_proof",
    "register_source",
    "tree_head",
    "verify",
]

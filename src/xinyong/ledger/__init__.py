"""The verifiable ledger: every state change as a leaf of an RFC 9162 Merkle tree, with signed
checkpoints and inclusion and consistency proofs that anyone can check offline.

Features log their events with ``append`` inside their own transaction, and tell the ledger
where the content of their events lives with ``register_source``. Each leaf is a salted
commitment to its event (``xinyong.ledger.commitment``): the tree is public, the events are not.
When an event's retention ends, ``erase`` forgets what opens it and keeps the tree whole.
"""

from xinyong.ledger.checkpoint import Checkpoint, SigningKey, TreeHead, VerifierKey
from xinyong.ledger.erasure import erase
from xinyong.ledger.events import LeafInput
from xinyong.ledger.service import append, checkpoint, consistency_proof, inclusion_proof, tree_head
from xinyong.ledger.sources import RebuildPayloads, register_source
from xinyong.ledger.verification import Divergence, VerifyReport, verify

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

"""Signing checkpoints without being asked: after each command that logged events, and in the
worker of ``xinyong serve``, a signed checkpoint every interval while the log grows, so that a
proof link is answered within a minute of its event.

One daemon thread in the serving process, like the rights worker. Several serving processes on
one store sign at most one checkpoint per half interval between them: a signer takes the ledger
head's lock and signs only if the latest checkpoint is at least that old.
"""

import logging
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from xinyong.config import Settings, get_settings
from xinyong.ledger.checkpoint import Checkpoint, read_signing_key
from xinyong.ledger.service import checkpoint, checkpoint_due, checkpoint_if_due
from xinyong.periodic import Periodic
from xinyong.store.db import make_engine, make_sessionmaker

LOG = logging.getLogger(__name__)


def sign_checkpoint_if_keyed(factory: sessionmaker[Session], key_path: Path) -> Checkpoint | None:
    """Sign the ledger's head after a job, when this installation has a signing key."""
    if not key_path.exists():
        return None
    with factory.begin() as session:
        return checkpoint(session, read_signing_key(key_path))


class Checkpointer(Periodic[Checkpoint | None]):
    def __init__(self, factory: sessionmaker[Session], key_path: Path, interval: float) -> None:
        super().__init__("xinyong-checkpoints", interval)
        self.factory = factory
        self.key_path = key_path

    def work(self) -> Checkpoint | None:
        """Sign the head if it moved and no one signed in the last half interval (looked at
        first without taking the head's lock)."""
        if not self.key_path.exists():
            return None  # nothing can be signed before `xinyong ledger keygen`
        key = read_signing_key(self.key_path)
        with self.factory() as session:
            if not checkpoint_due(session, key, self.interval / 2):
                return None
        with self.factory.begin() as session:
            signed = checkpoint_if_due(session, key, self.interval / 2)
        if signed is not None:
            LOG.info("checkpoint of %s events signed by %s", signed.tree_size, signed.origin)
        return signed


def start_checkpointer(settings: Settings | None = None) -> Checkpointer:
    """Start the worker on the configured store, every ``XINYONG_CHECKPOINT_INTERVAL`` s."""
    settings = settings or get_settings()
    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    worker = Checkpointer(factory, settings.ledger_key_path, settings.checkpoint_interval)
    worker.start()
    return worker

"""The publisher of ``xinyong serve``: feeds within a second of a change to the measures
index, public datasets after each evaluation, both at least daily.

One daemon thread in the serving process, like the checkpoint worker. Publishers on one
machine take turns (``Shelf.turn``), and each reads what another published before it adds a
version, so several serving processes publish one chain.
"""

from __future__ import annotations

from xinyong.clock import china_today
from xinyong.config import Settings, get_settings
from xinyong.datasets.publish import NoSigningKey, Publisher
from xinyong.periodic import Periodic
from xinyong.policy import pack_in_force
from xinyong.store.db import make_engine, make_sessionmaker


class PublishWorker(Periodic[int]):
    def __init__(self, publisher: Publisher, interval: float) -> None:
        super().__init__("xinyong-publish", interval)
        self.publisher = publisher

    def work(self) -> int:
        """Publish what is due; returns how many versions were made."""
        made = 0
        try:
            made += len(self.publisher.publish_feeds())
            if self.publisher.public_due(china_today()):
                made += sum(
                    outcome.version is not None for outcome in self.publisher.publish_public()
                )
        except NoSigningKey:
            pass  # nothing can be published before `xinyong ledger keygen`
        return made


def start_publisher(settings: Settings | None = None) -> PublishWorker:
    """Start the worker on the configured store, every ``XINYONG_PUBLISH_INTERVAL`` s."""
    settings = settings or get_settings()
    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    worker = PublishWorker(
        Publisher(factory, pack_in_force(settings), settings), settings.publish_interval
    )
    worker.start()
    return worker

"""The rights worker of ``xinyong serve``: expiry once a day, notices as they fall due.

One daemon thread in the serving process (not one per HTTP worker), ticking every
``XINYONG_RIGHTS_WORKER_INTERVAL`` seconds. Both jobs are idempotent and safe beside a manual
``xinyong rights expire`` or ``notify``, so a failed tick is logged and simply tried again.
"""

import logging
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import china_today
from xinyong.config import Settings, get_settings
from xinyong.periodic import Periodic
from xinyong.policy import Pack, pack_in_force
from xinyong.rights.expiry import expire
from xinyong.rights.notices import deliver_due
from xinyong.rights.transports import Transport, get_transport
from xinyong.store.runtime import open_store

LOG = logging.getLogger(__name__)


class RightsWorker(Periodic[None]):
    def __init__(
        self,
        factory: sessionmaker[Session],
        pack: Pack,
        transport: Transport,
        interval: float,
    ) -> None:
        super().__init__("xinyong-rights", interval)
        self.factory = factory
        self.pack = pack
        self.transport = transport
        self.expired_on: date | None = None

    def work(self) -> None:
        """Expire once per day in China, then deliver whatever notices are due."""
        day = china_today()
        if self.expired_on != day:
            summary = expire(self.factory, self.pack, day)
            self.expired_on = day
            LOG.info("expiry as of %s: %s", day, summary.to_dict())
        delivered = deliver_due(self.factory, self.transport)
        if delivered.sent or delivered.failed:
            LOG.info("notices: %s", delivered.to_dict())


def start_rights_worker(settings: Settings | None = None) -> RightsWorker | None:
    """Start the worker on the configured store and the national pack, unless
    ``XINYONG_RIGHTS_WORKER=false``; returns it, or None."""
    settings = settings or get_settings()
    if not settings.rights_worker:
        return None
    worker = RightsWorker(
        open_store(),
        pack_in_force(),
        get_transport(settings),
        settings.rights_worker_interval,
    )
    worker.start()
    return worker

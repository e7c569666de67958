"""A job of ``xinyong serve`` that runs in the background every interval.

One daemon thread per job in the serving process. A failing round is logged and the next
round tries again: a worker that died on one error would silently stop its job for good.
"""

import logging
import threading
from abc import ABC, abstractmethod
from typing import Generic, TypeVar

LOG = logging.getLogger(__name__)

Outcome = TypeVar("Outcome")


class Periodic(threading.Thread, ABC, Generic[Outcome]):
    """Calls ``work`` at once, then every ``interval`` seconds (at once while ``again`` says so),
    until ``stop``."""

    def __init__(self, name: str, interval: float) -> None:
        super().__init__(name=name, daemon=True)
        self.interval = interval
        self.stopping = threading.Event()

    @abstractmethod
    def work(self) -> Outcome:
        """One round of the job."""

    def tick(self) -> Outcome | None:
        """One round: what ``work`` returned, or None when it failed (the failure is logged)."""
        try:
            return self.work()
        except Exception:
            LOG.exception("%s failed; retrying in %s s", self.name, self.interval)
            return None

    def again(self, outcome: Outcome | None) -> bool:
        """Whether the next round follows at once (more work is waiting) instead of after the
        interval; never, unless a job says otherwise."""
        return False

    def run(self) -> None:
        while not self.stopping.is_set():
            if not self.again(self.tick()):
                self.stopping.wait(self.interval)

    def stop(self) -> None:
        """Ask the thread to end; it ends as soon as its round in progress does."""
        self.stopping.set()

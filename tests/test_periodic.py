"""The background jobs' base: rounds every interval, a failing round logged and survived, and a
prompt stop however long the interval."""

import logging
import threading

import pytest

from xinyong.periodic import Periodic

HOUR = 3600.0


class Rounds(Periodic[int]):
    """Counts its rounds; the rounds named in ``failing`` raise, those below ``eager`` are
    followed by the next at once."""

    def __init__(
        self, interval: float, failing: frozenset[int] = frozenset(), eager: int = 0
    ) -> None:
        super().__init__("test-rounds", interval)
        self.failing = failing
        self.eager = eager
        self.rounds = 0
        self.reached = threading.Condition()

    def work(self) -> int:
        with self.reached:
            self.rounds += 1
            self.reached.notify_all()
            done = self.rounds
        if done in self.failing:
            raise RuntimeError(f"round {done} broke")
        return done

    def again(self, outcome: int | None) -> bool:
        return outcome is not None and outcome < self.eager

    def wait_for(self, rounds: int) -> None:
        with self.reached:
            assert self.reached.wait_for(lambda: self.rounds >= rounds, timeout=30)


def test_a_failing_round_is_logged_and_the_next_round_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = Rounds(interval=0.01, failing=frozenset({1, 2}))
    with caplog.at_level(logging.ERROR, logger="xinyong.periodic"):
        worker.start()
        try:
            worker.wait_for(4)
        finally:
            worker.stop()
            worker.join(timeout=30)
    assert not worker.is_alive()
    failures = [record for record in caplog.records if record.exc_info]
    assert [str(record.exc_info[1]) for record in failures if record.exc_info] == [
        "round 1 broke",
        "round 2 broke",
    ]
    assert all("test-rounds failed; retrying in 0.01 s" in r.getMessage() for r in failures)


def test_tick_answers_the_round_or_none_when_it_failed() -> None:
    worker = Rounds(interval=HOUR, failing=frozenset({2}))
    assert [worker.tick(), worker.tick(), worker.tick()] == [1, None, 3]


def test_stop_ends_the_thread_at_once_within_a_long_interval() -> None:
    worker = Rounds(interval=HOUR)
    worker.start()
    worker.wait_for(1)
    worker.stop()
    worker.join(timeout=30)  # an hour's sleep would outlast this; the wait on the stop does not
    assert not worker.is_alive()
    assert worker.rounds == 1


def test_a_worker_stopped_before_it_starts_runs_no_round() -> None:
    worker = Rounds(interval=0.01)
    worker.stop()
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive() and worker.rounds == 0


def test_a_busy_job_runs_its_next_round_at_once() -> None:
    worker = Rounds(interval=HOUR, eager=3)
    worker.start()
    worker.wait_for(3)  # three rounds within an hour's interval: no wait after the first two
    worker.stop()
    worker.join(timeout=30)
    assert not worker.is_alive() and worker.rounds == 3

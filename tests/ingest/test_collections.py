"""While rows are stored the cycle collector runs less often, and the process's own threshold
comes back once the last job that raised it ends, however the jobs overlap."""

import gc
import threading

from xinyong.ingest.service import GC_YOUNG_THRESHOLD, _fewer_collections


def test_the_threshold_comes_back_after_the_last_of_overlapping_jobs() -> None:
    own = gc.get_threshold()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, tuple[int, int, int]] = {}

    def first() -> None:
        with _fewer_collections():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with _fewer_collections():
            second_in.set()
            first_out.wait(5)
            seen["after the first ended"] = gc.get_threshold()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen["after the first ended"][0] == max(own[0], GC_YOUNG_THRESHOLD)
    assert gc.get_threshold() == own


def test_nested_jobs_put_back_the_process_threshold() -> None:
    own = gc.get_threshold()
    with _fewer_collections():
        with _fewer_collections():
            assert gc.get_threshold()[0] == max(own[0], GC_YOUNG_THRESHOLD)
        assert gc.get_threshold()[0] == max(own[0], GC_YOUNG_THRESHOLD)
    assert gc.get_threshold() == own

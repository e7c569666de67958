"""Ids the serving processes hand out: unique across processes, forked ones included."""

import os
import re

from hypothesis import given
from hypothesis import strategies as st

from xinyong.tracing import UniqueIds


@given(st.integers(min_value=1, max_value=2_000))
def test_ids_are_32_hex_digits_and_never_repeat(count: int) -> None:
    ids = UniqueIds()
    made = [ids() for _ in range(count)]
    assert len(set(made)) == count
    assert all(re.fullmatch(r"[0-9a-f]{32}", made_id) for made_id in made)
    assert UniqueIds()() not in made  # another maker (another process's), another prefix


def test_a_forked_worker_makes_ids_of_its_own() -> None:
    """Workers forked from one process (``--preload``) would otherwise share a prefix and a
    counter, and give two checks the same id."""
    ids = UniqueIds()
    parent = ids()
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child reports through the pipe)
        os.write(writing, ids().encode())
        os._exit(0)
    os.close(writing)
    with os.fdopen(reading) as pipe:
        from_child = pipe.read()
    os.waitpid(child, 0)
    assert from_child[:16] != parent[:16]
    assert ids()[:16] == parent[:16]  # the parent keeps its own

"""A signal calls exactly the listeners connected to it, in the order they were connected."""

from hypothesis import given
from hypothesis import strategies as st

from xinyong.signals import Signal


def test_a_listener_that_is_not_connected_is_not_called() -> None:
    signal: Signal[int] = Signal("test")
    heard: list[tuple[str, int]] = []

    def connected(event: int) -> None:
        heard.append(("connected", event))

    def never_connected(event: int) -> None:
        heard.append(("never connected", event))

    signal.connect(connected)
    signal.send(1)
    signal.disconnect(connected)
    signal.send(2)
    assert heard == [("connected", 1)]
    assert signal.listeners == ()


@given(st.lists(st.integers(0, 5)), st.integers())
def test_listeners_run_once_each_in_the_order_first_connected(order: list[int], event: int) -> None:
    signal: Signal[int] = Signal("test")
    heard: list[tuple[int, int]] = []
    listeners = [lambda value, n=n: heard.append((n, value)) for n in range(6)]
    for n in order:
        signal.connect(listeners[n])
    signal.send(event)
    first_seen = list(dict.fromkeys(order))
    assert heard == [(n, event) for n in first_seen]

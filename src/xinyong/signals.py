"""Cross-feature effects as explicit listeners: a feature announces what changed, and the
assembly (``xinyong.assembly``) decides who listens.

A ``Signal`` is declared by the feature whose change it announces (``records_changed`` in
``xinyong.records.changes``, ``entries_changed`` in ``xinyong.enforcement.changes``). Its
listeners run in the order they were connected, inside the announcer's transaction, so what
they do commits or rolls back with the change itself. A listener that is not connected is never
called, and no feature calls another feature's workflow to get an effect of its own change.
"""

from collections.abc import Callable
from typing import Generic, TypeVar

Event = TypeVar("Event")


class Signal(Generic[Event]):
    """One kind of change, and the listeners connected to it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: list[Callable[[Event], None]] = []

    @property
    def listeners(self) -> tuple[Callable[[Event], None], ...]:
        return tuple(self._listeners)

    def connect(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` on every change from now on; connecting it again changes nothing."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def disconnect(self, listener: Callable[[Event], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def send(self, event: Event) -> None:
        """Tell every connected listener of ``event``, in the order they were connected."""
        for listener in tuple(self._listeners):
            listener(event)

    def __repr__(self) -> str:
        return f"Signal({self.name!r})"

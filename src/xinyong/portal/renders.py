"""What costs the platform much and a visitor nothing: a public credit report (a PDF takes a tenth
of a second of CPU or more) and a list's spreadsheet. Each anonymous render is counted per client
address by ``accounts.deps.admit_render`` (the sign-in throttle's back-off, scope ``render``,
which verifying an uploaded report counts against too; behind trusted proxies the address is
the real client's); past the free burst the answer is 429 with Retry-After.

A public report is rendered once per state of the public file: the same file on the same day
(``as_of``) is the same report, so a repeat is served from ``RenderedReports`` without counting
against the visitor or costing a render.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

KEPT_REPORTS = 256
"""Rendered public reports kept in memory, the least recently asked for dropped first: a
PDF is some 60 KB, so about 15 MB a worker."""


def file_state(file: Mapping[str, Any]) -> str:
    """A digest of everything a public report shows: equal digests, equal reports."""
    return hashlib.sha256(orjson.dumps(file, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class Rendered:
    number: str
    """The report's number, which names its file."""
    body: bytes


class RenderedReports:
    """Rendered public reports by (format, public file state), the least recently asked for
    dropped first; shared by the server's threads."""

    def __init__(self, size: int = KEPT_REPORTS) -> None:
        self._size = size
        self._kept: OrderedDict[tuple[str, str], Rendered] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, kind: str, state: str) -> Rendered | None:
        with self._lock:
            found = self._kept.get((kind, state))
            if found is not None:
                self._kept.move_to_end((kind, state))
            return found

    def put(self, kind: str, state: str, rendered: Rendered) -> None:
        with self._lock:
            self._kept[kind, state] = rendered
            self._kept.move_to_end((kind, state))
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)

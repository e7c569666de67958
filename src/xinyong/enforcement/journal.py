"""A serving process's journal of answered checks whose rows are not yet in the store.

A check is answered once its rows are appended to the journal (a ``write`` to a file opened
for appending, one for the requests of a turn of the event loop: the kernel holds the bytes
once the call returns, so a process killed at any moment afterwards has lost nothing, as
SQLite's own log survives a killed process). The
check log then moves the rows into the store in groups, each group recording the last journal
entry it holds. A process holds a lock on its journal while it lives; a process that starts
finds the journals whose owners are gone, moves the entries their groups do not hold into the
store, and deletes them.

An entry is one line of JSON: ``[seq, answered_at, key_id, label, purpose, as_of, policy,
rows]``; the first line names the journal and the store it belongs to, so a journal is never
moved into another store. A line cut short (the process died inside ``write``, before the
answers) is ignored; a write the disk took only in part is cut back, so no entry of a request
that was refused stays behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson

SUFFIX = ".journal"
REFUSED = "refused.jsonl"
"""Where entries the store refused are kept for an operator (never dropped)."""
FORMAT = 1
LOG = logging.getLogger(__name__)


class JournalFailed(OSError):
    """The journal could not take an entry (a full or read-only disk)."""


Row = tuple[int, str, str, str, str, str | None]
"""(subject key, decision id, subject, action, effect, request id) of one decision."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One request's rows as journalled."""

    seq: int
    answered_at: datetime
    key_id: str
    label: str
    purpose: str
    as_of: date
    policy_version: str
    rows: list[Row]


class Journal:
    """This process's journal, locked while it is open."""

    def __init__(self, directory: Path, store: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.name = uuid.uuid4().hex
        self.path = directory / f"{self.name}{SUFFIX}"
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._seq = 0
        self._size = 0
        self.write(orjson.dumps({"journal": FORMAT, "name": self.name, "store": store}) + b"\n")

    def entry(
        self,
        answered_at: datetime,
        key_id: str,
        label: str,
        purpose: str,
        as_of: date,
        policy_version: str,
        rows: list[Row],
    ) -> tuple[int, bytes]:
        """The next entry's number and its line, for ``write`` (lines in number order)."""
        self._seq += 1
        value = [self._seq, answered_at, key_id, label, purpose, as_of, policy_version, rows]
        return self._seq, orjson.dumps(value) + b"\n"

    def write(self, lines: bytes) -> None:
        """Append whole lines in one call; on failure none of them stays in the journal."""
        try:
            written = os.write(self._fd, lines)
        except OSError as error:
            self._cut_back()
            raise JournalFailed(
                f"the check journal {self.path} refused an entry: {error}"
            ) from error
        if written != len(lines):  # a full disk took part of the lines
            self._cut_back()
            raise JournalFailed(f"the check journal {self.path} is full")
        self._size += written

    def _cut_back(self) -> None:
        # The entries of refused requests must not be moved into the store by a successor.
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, self._size)

    def close(self, *, remove: bool) -> None:
        """Let go of the journal; ``remove`` once the store holds every entry."""
        if remove:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        os.close(self._fd)


@contextlib.contextmanager
def orphans(directory: Path, store: str) -> Iterator[Iterator[tuple[str, list[Entry], Path]]]:
    """The journals in ``directory`` of ``store`` whose owners are gone, each locked while it
    is yielded: ``(name, entries, path)``. The caller deletes a journal once its entries are
    in the store (while it still holds the lock, so no other process reads it again)."""
    held: list[int] = []

    def walk() -> Iterator[tuple[str, list[Entry], Path]]:
        if not directory.is_dir():
            return
        for path in sorted(directory.glob(f"*{SUFFIX}")):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:  # recovered and deleted by another process meanwhile
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # its owner lives (or another process is recovering it)
                os.close(fd)
                continue
            held.append(fd)
            read = _read(fd, path)
            if read is None or read[0] != store:
                continue
            yield read[1], read[2], path

    try:
        yield walk()
    finally:
        for fd in held:
            os.close(fd)


def _read(fd: int, path: Path) -> tuple[str, str, list[Entry]] | None:
    """The store, name and entries of the journal open as ``fd``; None if it is damaged."""
    with os.fdopen(os.dup(fd), "rb") as file:
        lines = file.read().split(b"\n")
    # The last piece is empty, or a line cut short by a process killed inside ``write``.
    complete = lines[:-1]
    try:
        header = orjson.loads(complete[0])
        if header.get("journal") != FORMAT:
            raise ValueError(f"unknown journal format {header.get('journal')!r}")
        entries = [_entry(orjson.loads(line)) for line in complete[1:]]
    except (ValueError, IndexError, TypeError, KeyError) as error:
        LOG.error("check journal %s is damaged (%s); left for an operator", path, error)
        return None
    return str(header["store"]), str(header["name"]), entries


def _entry(value: list[Any]) -> Entry:
    seq, answered_at, key_id, label, purpose, as_of, policy, rows = value
    return Entry(
        int(seq),
        datetime.fromisoformat(answered_at),
        key_id,
        label,
        purpose,
        date.fromisoformat(as_of),
        policy,
        [
            (key, decision, subject, action, effect, request_id)
            for key, decision, subject, action, effect, request_id in rows
        ],
    )


def keep_refused(directory: Path, entry: Entry, error: BaseException) -> None:
    """Keep an answered request's rows that the store refused, with the reason."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / REFUSED, "ab") as file:
        file.write(
            orjson.dumps(
                {
                    "error": str(error),
                    "entry": [
                        entry.seq,
                        entry.answered_at,
                        entry.key_id,
                        entry.label,
                        entry.purpose,
                        entry.as_of,
                        entry.policy_version,
                        entry.rows,
                    ],
                }
            )
            + b"\n"
        )

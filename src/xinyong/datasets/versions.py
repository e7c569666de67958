"""Published versions on disk: each version a folder written beside the others, then named
in the dataset's ``index.json`` in one rename, so a reader sees a whole version or none.

Layout under ``<var>/datasets/``::

    <dataset>/index.json                 the versions kept, newest last, and the latest snapshot
    <dataset>/<version>/manifest.json    see ``xinyong.datasets.manifest``
    <dataset>/<version>/manifest.json.sig
    <dataset>/<version>/delta.jsonl      ADD / MOD / DEL since the previous version
    <dataset>/<version>/<dataset>.jsonl  every row (public datasets: also .csv and .parquet;
                                         feeds: on snapshot versions only)

Publishers take turns through a lock file beside the datasets. Versions older than the
window are deleted, but never the latest snapshot nor anything after it, so whoever holds a
version in the window can catch up by deltas, and anyone else from that snapshot.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from xinyong.clock import as_utc
from xinyong.datasets import formats
from xinyong.datasets.manifest import (
    ADD,
    DEL,
    DELTA,
    FORMAT,
    KIND,
    MANIFEST,
    MOD,
    SIGNATURE,
    Manifest,
    operation_line,
    read_manifest,
    version_folder,
)
from xinyong.ledger.checkpoint import SigningKey
from xinyong.ledger.signed import digest, sign

INDEX = "index.json"
LOCK = ".publish.lock"
PUBLIC, FEED = "public", "feed"


def _instant(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` in one rename (a reader sees the old bytes or the new)."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


@dataclass(frozen=True, slots=True)
class Change:
    """The operations from one version's rows to the next one's, in key order."""

    ops: list[tuple[str, str, Any]]
    added: int = 0
    modified: int = 0
    deleted: int = 0

    @classmethod
    def between(cls, before: Mapping[str, Any], after: Mapping[str, Any]) -> Change:
        ops: list[tuple[str, str, Any]] = []
        counts = {ADD: 0, MOD: 0, DEL: 0}
        for key in sorted(before.keys() | after.keys()):
            old, new = before.get(key), after.get(key)
            if old == new:
                continue
            op = ADD if old is None else DEL if new is None else MOD
            counts[op] += 1
            ops.append((op, key, new))
        return cls(ops, counts[ADD], counts[MOD], counts[DEL])


@dataclass
class Publication:
    """What one version is made of, before it is written."""

    dataset: str
    kind: str
    title: Mapping[str, str]
    key: str
    """What names a row (``document_key``, ``subject`` ...): the ``key`` of its operations."""
    rows: Mapping[str, Any]
    """Every row of the new version, by key."""
    change: Change
    snapshot: bool
    """Whether the version carries every row as files (always, for public datasets)."""
    formats: Sequence[str] = ("jsonl",)
    extra: Mapping[str, bytes] = field(default_factory=dict)
    """Further files by name (a feed's ``policy.json``), listed with role ``policy``."""
    meta: Mapping[str, Any] = field(default_factory=dict)
    """Further manifest members (as-of day, checkpoint, policy version, source, feed scope)."""


class Shelf:
    """The published datasets under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, dataset: str, version: int | None = None) -> Path:
        base = self.root / dataset
        return base if version is None else base / version_folder(version)

    def index(self, dataset: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = orjson.loads((self.folder(dataset) / INDEX).read_bytes())
        except FileNotFoundError:
            return None
        return found

    def datasets(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(path.name for path in self.root.iterdir() if (path / INDEX).is_file())

    def manifest(self, dataset: str, version: int) -> Manifest:
        return read_manifest((self.folder(dataset, version) / MANIFEST).read_bytes())

    def latest(self, dataset: str) -> Manifest | None:
        index = self.index(dataset)
        return None if index is None else self.manifest(dataset, index["latest"])

    def snapshot_rows(self, dataset: str, version: int) -> dict[str, Any]:
        """The rows of a version that carries them, by the key its manifest names."""
        manifest = self.manifest(dataset, version)
        entry = manifest.file("snapshot")
        if entry is None:
            raise LookupError(f"version {version} of {dataset} carries no snapshot")
        key = manifest.document["key"]
        data = (self.folder(dataset, version) / entry.name).read_bytes()
        return {row[key]: row for row in map(orjson.loads, data.splitlines())}

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """One publisher at a time on this machine (a publish reads the latest version)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK, "ab") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def publish(
        self, publication: Publication, key: SigningKey, now: datetime, keep: timedelta
    ) -> Manifest:
        """Write the next version of ``publication.dataset`` and make it the latest; prune
        versions older than ``keep``. Call it in the publishers' ``turn``."""
        index = self.index(publication.dataset)
        previous = None if index is None else self.manifest(publication.dataset, index["latest"])
        version = 1 if previous is None else previous.version + 1
        final = self.folder(publication.dataset, version)
        staging = final.with_name(f".{final.name}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)  # left by a publisher killed before its index
        staging.mkdir(parents=True)
        files = _write_files(staging, publication, previous is not None)
        snapshot_version = version if publication.snapshot else _snapshot_of(index)
        document = {
            "format": FORMAT,
            "dataset": publication.dataset,
            "kind": publication.kind,
            "title": publication.title,
            "version": version,
            "published_at": _instant(now),
            "previous": None
            if previous is None
            else {"version": previous.version, "manifest_sha256": previous.sha256},
            "key": publication.key,
            "rows": len(publication.rows),
            "snapshot": publication.snapshot,
            "latest_snapshot": snapshot_version,
            "delta": None
            if previous is None
            else {
                "from": previous.version,
                "add": publication.change.added,
                "mod": publication.change.modified,
                "del": publication.change.deleted,
            },
            "signed_by": key.verifier.encode(),
            **publication.meta,
            "files": files,
        }
        data = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
        (staging / MANIFEST).write_bytes(data)
        (staging / SIGNATURE).write_text(sign(data, KIND, key))
        os.replace(staging, final)
        kept = self._kept(index, now - keep, snapshot_version)
        entry = {
            "version": version,
            "published_at": document["published_at"],
            "rows": len(publication.rows),
            "snapshot": publication.snapshot,
            "manifest_sha256": digest(data),
        }
        versions = [*kept, entry]
        new_index = {
            "dataset": publication.dataset,
            "kind": publication.kind,
            "title": publication.title,
            "latest": version,
            "latest_snapshot": snapshot_version,
            "versions": versions,
        }
        write_atomically(self.folder(publication.dataset) / INDEX, orjson.dumps(new_index))
        self._prune(publication.dataset, {item["version"] for item in versions})
        return read_manifest(data)

    @staticmethod
    def _kept(
        index: Mapping[str, Any] | None, since: datetime, snapshot: int
    ) -> list[dict[str, Any]]:
        """The versions of ``index`` still in the window: published since ``since``, and
        the latest snapshot (``snapshot``, the new version's if it is one) and everything
        after it whenever published."""
        if index is None:
            return []
        cutoff = _instant(since)
        return [
            item
            for item in index["versions"]
            if item["published_at"] >= cutoff or item["version"] >= snapshot
        ]

    def _prune(self, dataset: str, kept: set[int]) -> None:
        for path in self.folder(dataset).iterdir():
            if path.is_dir() and path.name.isdigit() and int(path.name) not in kept:
                shutil.rmtree(path, ignore_errors=True)


def _snapshot_of(index: Mapping[str, Any] | None) -> int:
    assert index is not None, "the first version of a dataset carries its rows"
    snapshot: int = index["latest_snapshot"]
    return snapshot


_WRITERS: dict[str, Callable[[Sequence[Any]], bytes]] = {
    "jsonl": formats.jsonl,
    "csv": formats.csv_bytes,
    "parquet": formats.parquet_bytes,
}


def _write_files(folder: Path, publication: Publication, has_delta: bool) -> list[dict[str, Any]]:
    files: list[tuple[str, str, str, int, bytes]] = []
    if has_delta:
        delta = b"".join(operation_line(*op) for op in publication.change.ops)
        files.append((DELTA, "delta", "jsonl", len(publication.change.ops), delta))
    if publication.snapshot:
        rows = [publication.rows[key] for key in sorted(publication.rows)]
        for name in publication.formats:
            files.append(
                (f"{publication.dataset}.{name}", "snapshot", name, len(rows), _WRITERS[name](rows))
            )
    for name, data in publication.extra.items():
        files.append((name, "policy", "json", 1, data))
    listed = []
    for name, role, file_format, count, data in files:
        (folder / name).write_bytes(data)
        listed.append(
            {
                "name": name,
                "role": role,
                "format": file_format,
                "rows": count,
                "bytes": len(data),
                "sha256": digest(data),
                "media_type": formats.MEDIA_TYPES[file_format],
            }
        )
    return listed

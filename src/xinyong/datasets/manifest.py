"""What a published version is, and how anyone checks one: the manifest, its signature, its
files and the chain of versions.

A dataset is published as numbered versions. Each version is a folder holding
``manifest.json``, ``manifest.json.sig`` (a signed note by the platform key, kind
``dataset-manifest``; see ``xinyong.ledger.signed``) and the files the manifest lists, each
with its size, its SHA-256 and its row count: the rows in JSON Lines (and for public datasets
CSV and Parquet), and ``delta.jsonl``, the ordered ``ADD`` / ``MOD`` / ``DEL`` operations that
turn the previous version's rows into this one's. Every manifest names the version before it
and that manifest's SHA-256, so a run of versions checks as one unbroken chain.

This module reads bytes and checks them: the platform imports it to publish, ``xinyong
datasets verify`` to check a download, and the mirror to accept a feed. It imports nothing of
the server.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from xinyong.ledger.checkpoint import VerifierKey
from xinyong.ledger.signed import SignatureError, digest, verify

FORMAT = "xinyong-dataset/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
DELTA = "delta.jsonl"
POLICY = "policy.json"
KIND = "dataset-manifest"
"""The kind a manifest's signed note names."""
HEAD_KIND = "feed-head"
"""The kind of a feed's head: the latest version, vouched for at the moment it was asked."""
ADD, MOD, DEL = "ADD", "MOD", "DEL"
OPS = (ADD, MOD, DEL)
NAME = re.compile(r"[a-z][a-z0-9_.-]{0,79}")
"""A dataset's name (``records``, ``list.court.defaulters``, ``feed.<scope>``)."""
FILE_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,119}")


class InvalidVersion(ValueError):
    """A version that does not check: a bad signature, a changed file, a broken chain."""


def version_folder(version: int) -> str:
    """The folder (and URL segment) of a version: zero-padded, so names sort as numbers."""
    return f"{version:08d}"


@dataclass(frozen=True, slots=True)
class FileEntry:
    name: str
    role: str
    """``snapshot`` (every row), ``delta`` (the operations since the previous version) or
    ``policy`` (a feed's decision table)."""
    format: str
    rows: int
    bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """A manifest as read: the fields every reader relies on, and the whole document."""

    dataset: str
    kind: str
    version: int
    previous: int | None
    previous_sha256: str | None
    rows: int
    snapshot: bool
    files: tuple[FileEntry, ...]
    document: Mapping[str, Any]
    sha256: str
    """SHA-256 of the manifest's bytes: what the next version names as its previous."""

    def file(self, role: str, file_format: str = "jsonl") -> FileEntry | None:
        for entry in self.files:
            if entry.role == role and entry.format == file_format:
                return entry
        return None


def read_manifest(data: bytes) -> Manifest:
    """The manifest in ``data``; ``InvalidVersion`` when it is not one."""
    try:
        document = orjson.loads(data)
        if document.get("format") != FORMAT:
            raise InvalidVersion(f"not a {FORMAT} manifest")
        previous = document["previous"]
        files = tuple(
            FileEntry(
                str(item["name"]),
                str(item["role"]),
                str(item["format"]),
                _count(item["rows"]),
                _count(item["bytes"]),
                str(item["sha256"]),
            )
            for item in document["files"]
        )
        manifest = Manifest(
            dataset=str(document["dataset"]),
            kind=str(document["kind"]),
            version=_count(document["version"]),
            previous=None if previous is None else _count(previous["version"]),
            previous_sha256=None if previous is None else str(previous["manifest_sha256"]),
            rows=_count(document["rows"]),
            snapshot=bool(document["snapshot"]),
            files=files,
            document=document,
            sha256=digest(data),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise InvalidVersion(f"not a readable manifest: {error!r}") from None
    if not NAME.fullmatch(manifest.dataset):
        raise InvalidVersion(f"not a dataset name: {manifest.dataset!r}")
    for entry in files:
        if not FILE_NAME.fullmatch(entry.name):
            raise InvalidVersion(f"not a file name: {entry.name!r}")
    if manifest.version < 1 or (manifest.previous is not None and manifest.previous < 1):
        raise InvalidVersion("versions are numbered from 1")
    return manifest


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError(f"not a count: {value!r}")
    return value


def open_manifest(data: bytes, note: str, key: VerifierKey) -> Manifest:
    """The manifest in ``data`` once ``note`` proves ``key`` signed it."""
    try:
        verify(data, note, KIND, key)
    except SignatureError as error:
        raise InvalidVersion(f"manifest signature: {error}") from None
    return read_manifest(data)


def follows(manifest: Manifest, previous: Manifest) -> bool:
    """Whether ``manifest`` is the version right after ``previous`` of the same dataset."""
    return (
        manifest.dataset == previous.dataset
        and manifest.previous == previous.version
        and manifest.version == previous.version + 1
        and manifest.previous_sha256 == previous.sha256
    )


def check_chain(manifests: Sequence[Manifest]) -> None:
    """``InvalidVersion`` unless each manifest is the version right after the one before."""
    for earlier, later in itertools.pairwise(manifests):
        if not follows(later, earlier):
            raise InvalidVersion(
                f"the chain breaks between versions {earlier.version} and {later.version} "
                f"of {earlier.dataset}: version {later.version} names version {later.previous} "
                f"with manifest {str(later.previous_sha256)[:16]}…, not version "
                f"{earlier.version} with manifest {earlier.sha256[:16]}…"
            )


def check_file(entry: FileEntry, data: bytes) -> None:
    """``InvalidVersion`` unless ``data`` is the file the manifest lists, rows included."""
    if len(data) != entry.bytes:
        raise InvalidVersion(f"{entry.name}: {len(data)} bytes, the manifest says {entry.bytes}")
    if digest(data) != entry.sha256:
        raise InvalidVersion(f"{entry.name}: its SHA-256 is not the manifest's: it was changed")
    lines = data.count(b"\n")
    if entry.format == "jsonl" and lines != entry.rows:
        raise InvalidVersion(f"{entry.name}: {lines} rows, the manifest says {entry.rows}")


@dataclass(frozen=True, slots=True)
class Operation:
    op: str
    key: str
    row: Any
    """The row after the operation (None for ``DEL``)."""


def operations(data: bytes) -> Iterator[Operation]:
    """The operations of a delta file, in order; ``InvalidVersion`` at the first bad line."""
    for number, line in enumerate(data.splitlines(), start=1):
        try:
            item = orjson.loads(line)
            op, key = item["op"], item["key"]
            row = item.get("row")
        except (orjson.JSONDecodeError, KeyError, TypeError) as error:
            raise InvalidVersion(f"{DELTA} line {number}: {error!r}") from None
        if op not in OPS or not isinstance(key, str) or (row is None) != (op == DEL):
            raise InvalidVersion(f"{DELTA} line {number}: not an operation")
        yield Operation(op, key, row)


def operation_line(op: str, key: str, row: Any = None) -> bytes:
    """One line of a delta file."""
    item: dict[str, Any] = {"op": op, "key": key}
    if row is not None:
        item["row"] = row
    return orjson.dumps(item) + b"\n"

"""Checking downloaded versions offline: signature, files, hashes, rows and the chain.

``verify_folder`` takes a version folder (``manifest.json`` and its files) or a dataset folder
holding several; ``download`` fetches a dataset's kept versions (or one version) from a
platform's ``/v1/datasets`` into a folder first. For every version: the manifest's signature
by the platform key, every listed file's size, SHA-256 and row count (JSON Lines, CSV and
Parquet alike). Across versions: each names the one before it by number and manifest
SHA-256, and its delta applied to the previous version's rows gives its own rows.
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from xinyong.datasets import formats
from xinyong.datasets.manifest import (
    DEL,
    MANIFEST,
    SIGNATURE,
    InvalidVersion,
    Manifest,
    check_chain,
    check_file,
    open_manifest,
    operations,
    read_manifest,
    version_folder,
)
from xinyong.ledger.checkpoint import VerifierKey

TIMEOUT = 60


@dataclass
class Report:
    """What was checked, and the first fault found (``problem``), if any."""

    key: str = ""
    key_pinned: bool = False
    versions: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and bool(self.versions)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "key": self.key,
            "key_pinned": self.key_pinned,
            "versions": self.versions,
            "problem": self.problem,
        }


_ROWS: dict[str, Callable[[bytes], int]] = {
    "csv": formats.csv_rows,
    "parquet": formats.parquet_rows,
}


def _version_folders(path: Path) -> list[Path]:
    if (path / MANIFEST).is_file():
        return [path]
    found = sorted(
        child for child in path.iterdir() if child.is_dir() and (child / MANIFEST).is_file()
    )
    if not found:
        raise InvalidVersion(f"{path} holds no {MANIFEST}, nor folders that do")
    return found


def _check_version(folder: Path, key: VerifierKey) -> Manifest:
    data = (folder / MANIFEST).read_bytes()
    try:
        note = (folder / SIGNATURE).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidVersion(
            f"{folder.name}: {SIGNATURE} is missing: the version is unsigned"
        ) from None
    except UnicodeDecodeError:
        raise InvalidVersion(f"{folder.name}: {SIGNATURE} is not a signed note") from None
    manifest = open_manifest(data, note, key)
    for entry in manifest.files:
        try:
            content = (folder / entry.name).read_bytes()
        except FileNotFoundError:
            # A feed's snapshot and delta are fetched as needed; a public version has all.
            raise InvalidVersion(f"version {manifest.version}: {entry.name} is missing") from None
        check_file(entry, content)
        count = _ROWS.get(entry.format)
        if count is not None and count(content) != entry.rows:
            raise InvalidVersion(
                f"{entry.name}: {count(content)} rows, the manifest says {entry.rows}"
            )
    return manifest


def _rows(folder: Path, manifest: Manifest) -> dict[str, Any] | None:
    entry = manifest.file("snapshot")
    if entry is None:
        return None
    key = manifest.document["key"]
    data = (folder / entry.name).read_bytes()
    return {row[key]: row for row in map(orjson.loads, data.splitlines())}


def _check_delta(folder: Path, manifest: Manifest, before: dict[str, Any]) -> dict[str, Any]:
    """The rows after this version's delta; ``InvalidVersion`` if an operation does not fit
    (an ADD of a row that is there, a MOD or DEL of one that is not)."""
    entry = manifest.file("delta")
    if entry is None:
        raise InvalidVersion(f"version {manifest.version} follows another but has no delta")
    rows = dict(before)
    for operation in operations((folder / entry.name).read_bytes()):
        present = operation.key in rows
        if present == (operation.op == "ADD"):
            raise InvalidVersion(
                f"version {manifest.version}: {operation.op} of {operation.key!r}, which the "
                f"previous version {'holds' if present else 'does not hold'}"
            )
        if operation.op == DEL:
            del rows[operation.key]
        else:
            rows[operation.key] = operation.row
    return rows


def verify_folder(path: Path, key: VerifierKey | None = None) -> Report:
    """Check every version under ``path`` with ``key`` (or, unpinned, the key each manifest
    names: that proves only that the versions agree with themselves)."""
    report = Report(key_pinned=key is not None)
    try:
        folders = _version_folders(path)
        if key is None:
            named = read_manifest((folders[-1] / MANIFEST).read_bytes()).document.get("signed_by")
            if not isinstance(named, str):
                raise InvalidVersion("no key given, and the manifest names none")
            key = VerifierKey.parse(named)
        report.key = key.encode()
        manifests: list[Manifest] = []
        rows: dict[str, Any] | None = None
        for folder in folders:
            manifest = _check_version(folder, key)
            if manifests:
                check_chain([manifests[-1], manifest])
                if rows is not None:
                    rows = _check_delta(folder, manifest, rows)
            own = _rows(folder, manifest)
            if own is not None and rows is not None and own != rows:
                raise InvalidVersion(
                    f"version {manifest.version}: its rows are not the previous version's "
                    "with its delta applied"
                )
            rows = own if own is not None else rows
            manifests.append(manifest)
            report.versions.append(
                {
                    "dataset": manifest.dataset,
                    "version": manifest.version,
                    "rows": manifest.rows,
                    "files": len(manifest.files),
                    "published_at": manifest.document.get("published_at"),
                    "checkpoint": manifest.document.get("checkpoint"),
                }
            )
    except (InvalidVersion, OSError, ValueError) as error:
        report.problem = str(error)
    return report


def _fetch(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "*/*"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
        data: bytes = answer.read()
    return data


def download(url: str, into: Path) -> Path:
    """Fetch the kept versions of the dataset at ``url`` (``…/v1/datasets/NAME``), or one
    version (``…/v1/datasets/NAME/VERSION``), into ``into``; returns the folder to verify."""
    parsed = urllib.parse.urlsplit(url.rstrip("/"))
    if parsed.scheme not in ("http", "https"):
        raise InvalidVersion(f"not an http(s) URL: {url}")
    parts = parsed.path.split("/")
    base = urllib.parse.urlunsplit(parsed._replace(path="/".join(parts[:-1]), query=""))
    if parts[-1].isdigit():
        name, versions = parts[-2], [int(parts[-1])]
        base = urllib.parse.urlunsplit(parsed._replace(path="/".join(parts[:-2]), query=""))
    else:
        name = parts[-1]
        index = orjson.loads(_fetch(urllib.parse.urlunsplit(parsed._replace(query=""))))
        versions = [item["version"] for item in index["versions"]]
    for version in versions:
        folder = into / version_folder(version)
        folder.mkdir(parents=True, exist_ok=True)
        prefix = f"{base}/{name}/{version}"
        manifest = _fetch(f"{prefix}/{MANIFEST}")
        (folder / MANIFEST).write_bytes(manifest)
        (folder / SIGNATURE).write_bytes(_fetch(f"{prefix}/{SIGNATURE}"))
        for entry in read_manifest(manifest).files:
            (folder / entry.name).write_bytes(_fetch(f"{prefix}/{entry.name}"))
    return into

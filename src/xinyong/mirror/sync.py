"""Keeping the mirror current and reporting its checks: what ``xinyong mirror sync`` runs.

A round asks the platform for the feed's head, signed with the platform key over this
mirror's nonce, then applies the versions after its own in order: each manifest's signature,
its link to the version before (number and manifest SHA-256) and every file's size and
SHA-256 are checked before anything is applied. A mirror without a version, behind the
versions kept, on another feed, or finding a gap or a fault reloads the latest snapshot and
goes on from there. When the mirror stands at the head it notes the moment it asked: the
staleness rule counts from there. Then it reports its journaled checks in signed batches.
"""

from __future__ import annotations

import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from xinyong.datasets.manifest import (
    HEAD_KIND,
    MANIFEST,
    POLICY,
    SIGNATURE,
    InvalidVersion,
    Manifest,
    check_file,
    open_manifest,
    operations,
)
from xinyong.datasets.reports import KIND, MAX_CHECKS, Batch, ReportedCheck
from xinyong.ledger.checkpoint import (
    SigningKey,
    VerifierKey,
    read_signing_key,
    write_signing_key,
)
from xinyong.ledger.signed import SignatureError, digest, sign, verify
from xinyong.mirror.store import Group, LocalStore, Outdated

TIMEOUT = 30
MIRROR_KEY = "mirror.key"
PLATFORM_KEY = "platform_key"


class SyncError(RuntimeError):
    """A round that could not bring the mirror to the platform's head; the mirror keeps the
    version it had (and answers ``review`` once that is past the staleness limit)."""


class Client:
    """The platform's ``/v1`` API with one relying party's key."""

    def __init__(self, url: str, token: str) -> None:
        parsed = urllib.parse.urlsplit(url.rstrip("/"))
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.base = url.rstrip("/")
        self.token = token

    def request(self, path: str, body: bytes | None = None) -> bytes:
        request = urllib.request.Request(
            f"{self.base}{path}",
            data=body,
            headers={
                "Authorization": f"Bearer {self.token}",
                **({"Content-Type": "application/json"} if body is not None else {}),
            },
            method="GET" if body is None else "POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                data: bytes = answer.read()
        except urllib.error.HTTPError as error:
            detail = error.read()[:500].decode(errors="replace")
            raise SyncError(f"{path}: HTTP {error.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as error:
            raise SyncError(f"{path}: {error}") from None
        return data


@dataclass(frozen=True)
class Round:
    """What a sync round did."""

    feed: str
    version: int
    applied: int
    """Versions applied by delta."""
    operations: int
    reloaded: bool
    reported: int
    """Checks the platform acknowledged."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "feed": self.feed,
            "version": self.version,
            "applied": self.applied,
            "operations": self.operations,
            "reloaded": self.reloaded,
            "reported": self.reported,
        }


class Syncer:
    """Brings one mirror's store to its feed's head and reports its checks."""

    def __init__(
        self,
        store: LocalStore,
        client: Client,
        platform_key: VerifierKey | None = None,
        site: str = "",
    ) -> None:
        self.store = store
        self.client = client
        self.site = site or "unnamed site"
        self.platform_key = platform_key or self._pinned_key()
        self.mirror_key = self._mirror_key()

    def _pinned_key(self) -> VerifierKey:
        """The platform key pinned at the first round (taken from ``/v1/ledger/key`` then)."""
        pinned = self.store.setting(PLATFORM_KEY)
        if pinned is None:
            published = orjson.loads(self.client.request("/v1/ledger/key"))
            pinned = str(published["key"])
            self.store.set(PLATFORM_KEY, pinned)
        return VerifierKey.parse(pinned)

    def _mirror_key(self) -> SigningKey:
        path = self.store.folder / MIRROR_KEY
        try:
            return read_signing_key(path)
        except FileNotFoundError:
            key = SigningKey.generate(f"mirror-{self.store.instance}")
            write_signing_key(path, key)
            return key

    def head(self) -> tuple[dict[str, Any], float]:
        """The platform's signed head of this key's feed, and when it was asked."""
        nonce = secrets.token_hex(16)
        asked = time.time()
        answer = orjson.loads(self.client.request(f"/v1/mirror/feed?nonce={nonce}"))
        head = answer["head"].encode()
        try:
            verify(head, answer["signature"], HEAD_KIND, self.platform_key)
        except SignatureError as error:
            raise SyncError(f"the feed head is not the platform's: {error}") from None
        found: dict[str, Any] = orjson.loads(head)
        if found.get("nonce") != nonce:
            raise SyncError("the feed head answers another request (its nonce is not ours)")
        return found, asked

    def sync(self) -> Round:
        """One round: up to the head, then the reports."""
        try:
            return self._round()
        except InvalidVersion as error:
            raise SyncError(f"the feed does not check: {error}") from None

    def _round(self) -> Round:
        head, asked = self.head()
        position = self.store.position()
        applied = ops = 0
        reloaded = False
        if (
            position is None
            or position.feed != head["feed"]
            or not head["oldest"] <= position.version <= head["version"]
        ):
            self._reload(head)
            reloaded = True
        try:
            applied, ops = self._forward(head)
        except (InvalidVersion, Outdated, SyncError):
            if reloaded:
                raise
            self._reload(head)
            reloaded = True
            applied, ops = self._forward(head)
        position = self.store.position()
        assert position is not None
        if (
            position.version != head["version"]
            or position.manifest_sha256 != head["manifest_sha256"]
        ):
            raise SyncError(
                f"after the round the mirror holds version {position.version}, not the head's "
                f"{head['version']}"
            )
        self.store.confirm(asked)
        return Round(head["feed"], position.version, applied, ops, reloaded, self.report())

    def _manifest(self, feed: str, version: int) -> tuple[Manifest, str]:
        prefix = f"/v1/mirror/feeds/{feed}/{version}"
        data = self.client.request(f"{prefix}/{MANIFEST}")
        note = self.client.request(f"{prefix}/{SIGNATURE}").decode()
        manifest = open_manifest(data, note, self.platform_key)
        if manifest.dataset != feed or manifest.version != version:
            raise InvalidVersion(f"asked for version {version} of {feed}, got another")
        return manifest, prefix

    def _file(self, manifest: Manifest, prefix: str, role: str, file_format: str) -> bytes:
        entry = manifest.file(role, file_format)
        if entry is None:
            raise InvalidVersion(f"version {manifest.version} lists no {role} file")
        data = self.client.request(f"{prefix}/{entry.name}")
        check_file(entry, data)
        return data

    def _policy(self, manifest: Manifest, prefix: str, held: bytes | None) -> bytes:
        entry = manifest.file("policy", "json")
        if entry is None:
            raise InvalidVersion(f"version {manifest.version} lists no {POLICY}")
        if held is not None and digest(held) == entry.sha256:
            return held
        return self._file(manifest, prefix, "policy", "json")

    def _reload(self, head: dict[str, Any]) -> None:
        manifest, prefix = self._manifest(head["feed"], head["latest_snapshot"])
        data = self._file(manifest, prefix, "snapshot", "jsonl")
        policy = self._policy(manifest, prefix, None)
        rows = ((row["subject"], row) for row in map(orjson.loads, data.splitlines()))
        self.store.replace(manifest.dataset, manifest.version, manifest.sha256, policy, rows)

    def _forward(self, head: dict[str, Any]) -> tuple[int, int]:
        """Apply every version after the store's up to the head; (versions, operations)."""
        applied = ops = 0
        position = self.store.position()
        assert position is not None
        while position.version < head["version"]:
            manifest, prefix = self._manifest(head["feed"], position.version + 1)
            if (
                manifest.previous != position.version
                or manifest.previous_sha256 != position.manifest_sha256
            ):
                raise InvalidVersion(
                    f"version {manifest.version} does not follow the mirror's version "
                    f"{position.version}: the chain is broken"
                )
            delta = [
                (operation.op, operation.key, operation.row)
                for operation in operations(self._file(manifest, prefix, "delta", "jsonl"))
            ]
            policy = self._policy(manifest, prefix, position.policy)
            self.store.apply(
                manifest.dataset,
                position.version,
                manifest.version,
                manifest.sha256,
                policy,
                delta,
            )
            applied += 1
            ops += len(delta)
            position = self.store.position()
            assert position is not None
        return applied, ops

    def report(self) -> int:
        """Send the journaled checks in signed batches, each until the platform takes it;
        returns how many checks it acknowledged."""
        acknowledged = 0
        while True:
            pending = self.store.pending()
            if not pending:
                if self.store.assign(MAX_CHECKS) is None:
                    return acknowledged
                continue
            for batch_id, groups in pending:
                acknowledged += self._send(batch_id, groups)

    def _send(self, batch_id: str, groups: list[Group]) -> int:
        position = self.store.position()
        batch = Batch(
            batch_id,
            self.mirror_key.name,
            self.site,
            position.feed if position else "",
            tuple(check for group in groups for check in _reported(self.store.instance, group)),
        )
        data = batch.encode()
        body = orjson.dumps(
            {
                "key": self.mirror_key.verifier.encode(),
                "batch": data.decode(),
                "signature": sign(data, KIND, self.mirror_key),
            }
        )
        answer = orjson.loads(self.client.request("/v1/mirror/checks", body))
        self.store.reported(batch_id)
        checks: int = answer["checks"]
        return checks


def _reported(instance: str, group: Group) -> list[ReportedCheck]:
    """A journaled group's checks as reported, each with the decision id it was answered with."""
    at = datetime.fromisoformat(group.at)
    return [
        ReportedCheck(
            f"{instance}{group.id:010x}{position:04x}",
            at,
            subject,
            action,
            effect,
            group.feed_version,
            group.policy_version,
            bool(stale),
            group.purpose,
        )
        for position, (subject, action, effect, stale) in enumerate(group.checks)
    ]

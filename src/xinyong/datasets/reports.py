"""The check reports of mirrors: a signed batch of the checks a mirror answered.

A mirror keeps the checks it answers and reports them in batches, each the exact bytes of a
JSON document signed by the mirror's own key (a signed note of kind ``mirror-checks``, see
``xinyong.ledger.signed``)::

    {"format": "xinyong-mirror-checks/1", "batch_id": "…", "mirror": "…", "site": "PEK T3",
     "feed": "feed.…", "checks": [[decision id, checked at (UTC, ISO 8601), subject, action,
     effect, feed version, policy version, stale, purpose], …]}

The platform takes a batch once per key (``batch_id`` names it; the mirror makes it from the
journal positions it covers, so a batch sent again after a lost answer is the same batch) and
writes its checks to the check log, where the subject sees them. This module reads and checks
a batch's bytes and imports nothing of the server: the mirror builds batches with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from xinyong.enforcement.decisions import ALLOW, DENY, REVIEW
from xinyong.web.patterns import LINE_PATTERN

FORMAT = "xinyong-mirror-checks/1"
KIND = "mirror-checks"
MAX_CHECKS = 10_000
BATCH_ID = re.compile(r"[A-Za-z0-9_.:-]{1,80}")
DECISION_ID = re.compile(r"[0-9a-f]{1,32}")
SUBJECT = re.compile(r"[0-9A-Z]{1,18}")
LINE = re.compile(LINE_PATTERN)
EFFECTS = frozenset({ALLOW, DENY, REVIEW})
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a reported check may lie (the mirror's clock against ours)."""


class BadBatch(ValueError):
    """A batch that is not one: the message says where and why."""


@dataclass(frozen=True, slots=True)
class ReportedCheck:
    decision_id: str
    checked_at: datetime
    subject: str
    action: str
    effect: str
    feed_version: int
    policy_version: str
    stale: bool
    purpose: str

    def as_json(self) -> list[Any]:
        return [
            self.decision_id,
            self.checked_at.astimezone(UTC).isoformat(timespec="microseconds"),
            self.subject,
            self.action,
            self.effect,
            self.feed_version,
            self.policy_version,
            self.stale,
            self.purpose,
        ]


@dataclass(frozen=True, slots=True)
class Batch:
    batch_id: str
    mirror: str
    site: str
    feed: str
    checks: tuple[ReportedCheck, ...]

    def encode(self) -> bytes:
        """The batch's bytes, as signed."""
        return orjson.dumps(
            {
                "format": FORMAT,
                "batch_id": self.batch_id,
                "mirror": self.mirror,
                "site": self.site,
                "feed": self.feed,
                "checks": [check.as_json() for check in self.checks],
            }
        )


def _text(value: Any, where: str, low: int, high: int) -> str:
    if not isinstance(value, str) or not low <= len(value) <= high or not LINE.match(value):
        raise BadBatch(f"{where}: plain text of {low} to {high} characters (no control characters)")
    return value


def _check(item: Any, where: str, actions: frozenset[str], now: datetime) -> ReportedCheck:
    if not isinstance(item, list) or len(item) != 9:
        raise BadBatch(f"{where}: a check is a list of 9 values")
    decision_id, at, subject, action, effect, version, policy, stale, purpose = item
    if not isinstance(decision_id, str) or not DECISION_ID.fullmatch(decision_id):
        raise BadBatch(f"{where}[0]: a decision id is 1 to 32 lower-case hex digits")
    try:
        checked_at = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        checked_at = None
    if checked_at is None or checked_at.tzinfo is None or checked_at > now + CLOCK_SKEW:
        raise BadBatch(f"{where}[1]: an instant with its UTC offset, not in the future")
    if not isinstance(subject, str) or not SUBJECT.fullmatch(subject):
        raise BadBatch(f"{where}[2]: an identifier in normal form (digits and capitals)")
    if action not in actions:
        raise BadBatch(f"{where}[3]: {action!r} is outside this key's scope")
    if effect not in EFFECTS:
        raise BadBatch(f"{where}[4]: the effect is allow, deny or review")
    if not isinstance(version, int) or isinstance(version, bool) or not 0 <= version < 2**62:
        raise BadBatch(f"{where}[5]: a feed version is a whole number")
    if not isinstance(stale, bool):
        raise BadBatch(f"{where}[7]: stale is true or false")
    return ReportedCheck(
        decision_id,
        checked_at.astimezone(UTC),
        subject,
        str(action),
        str(effect),
        version,
        _text(policy, f"{where}[6]", 1, 120),
        stale,
        _text(purpose, f"{where}[8]", 3, 500),
    )


def read_batch(data: bytes, actions: frozenset[str], now: datetime) -> Batch:
    """The batch in ``data``, every check in ``actions``; ``BadBatch`` at the first fault."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise BadBatch(f"batch: not JSON ({error})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BadBatch(f"batch: not a {FORMAT} document")
    batch_id = document.get("batch_id")
    if not isinstance(batch_id, str) or not BATCH_ID.fullmatch(batch_id):
        raise BadBatch("batch.batch_id: 1 to 80 letters, digits, '_', '.', ':' or '-'")
    checks = document.get("checks")
    if not isinstance(checks, list) or not 1 <= len(checks) <= MAX_CHECKS:
        raise BadBatch(f"batch.checks: a list of 1 to {MAX_CHECKS:,} checks")
    return Batch(
        batch_id,
        _text(document.get("mirror"), "batch.mirror", 1, 80),
        _text(document.get("site"), "batch.site", 1, 200),
        _text(document.get("feed"), "batch.feed", 1, 80),
        tuple(_check(item, f"batch.checks[{n}]", actions, now) for n, item in enumerate(checks)),
    )

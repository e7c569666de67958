"""What the ledger leaf of a check-log group commits to: the group's rows, in id order, each
with these columns. The check log (``xinyong.enforcement.checklog``) and a command's check on
the bare driver (``xinyong.enforcement.bare``) seal their groups alike, and ``xinyong ledger
verify`` rebuilds the leaf from the stored rows the same way."""

from collections.abc import Sequence
from typing import Any

import orjson

KIND = "check_log.group"
"""The ledger kind of a group's leaf; its reference is the group's id."""
SEALED_COLUMNS = (
    "decision_id",
    "checked_at",
    "relying_party",
    "relying_party_label",
    "purpose",
    "subject",
    "subject_key",
    "action",
    "as_of",
    "effect",
    "policy_version",
)
SUBJECT_KEY = SEALED_COLUMNS.index("subject_key")


def group_payload(rows: Sequence[Sequence[Any]]) -> bytes:
    """The leaf's payload: the group's rows (``SEALED_COLUMNS``), as the ledger commits to it."""
    return orjson.dumps({"rows": rows})

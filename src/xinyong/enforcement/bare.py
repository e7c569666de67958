"""One check through the store's bare driver: what ``xinyong check`` does, without SQLAlchemy.

It reads the subject's row of the measures index (as ``service.check_in_store`` does), decides
with the one decision function, and logs the check before it is shown: one transaction writes
a check-log group with its row, the group's ledger leaf (``xinyong.ledger.bare``) and the
subject's entry, so the group is sealed when it is committed, as a mirror's reported group is.
The rows and the leaf are those the check log writes (``xinyong.enforcement.sealing``).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import orjson

from xinyong.clock import china_today, utc_now
from xinyong.enforcement.decisions import Decision, DecisionMaker, GrantReader, UnknownAction
from xinyong.enforcement.sealing import KIND, SEALED_COLUMNS, group_payload
from xinyong.enforcement.subjects import decidable, subject_key
from xinyong.enforcement.table_cache import PackTable
from xinyong.ledger.bare import append_bare, sign_bare
from xinyong.ledger.events import LeafInput
from xinyong.store.driver import BareStore
from xinyong.tracing import REQUEST_ID

if TYPE_CHECKING:
    from xinyong.ledger.checkpoint import SigningKey

_ROW_COLUMNS = ("group_id", *SEALED_COLUMNS, "request_id")


def decide_bare(
    store: BareStore, packed: PackTable, subject: str, action: str, as_of: date
) -> Decision:
    """The decision for one subject; ``UndecidableSubject`` for an identifier that fails its
    check and ``UnknownAction`` for an action the pack lacks (nothing is logged then)."""
    connection, mark = store.connection, store.marker

    def held(code: str) -> bool:
        found = connection.execute(
            f"SELECT 1 FROM subjects WHERE identifier = {mark}", (code,)
        ).fetchone()
        return found is not None

    identifier = decidable(subject, china_today(), held)
    if action not in packed.actions:
        raise UnknownAction(action, packed.actions)
    row = connection.execute(
        f"SELECT grants FROM measure_index WHERE identifier = {mark}", (identifier,)
    ).fetchone()
    stored = [] if row is None else row[0]
    # SQLite hands back the JSON's text, PostgreSQL's driver the value it holds.
    rows = orjson.loads(stored) if isinstance(stored, str | bytes) else stored
    grants = GrantReader().read(rows)
    known = bool(grants) or held(identifier)
    return DecisionMaker(packed.table).decide(identifier, known, grants, action, as_of)


def log_bare(
    store: BareStore,
    decision: Decision,
    asker: tuple[str, str],
    purpose: str,
    signing: SigningKey | None = None,
) -> int:
    """Write ``decision`` to the check log as a sealed group of one; returns the group's id.

    With the ledger's ``signing`` key, the new head is signed in the same transaction: the
    check's leaf is provable at once, as after every command that logs."""
    connection, mark = store.connection, store.marker
    key_id, label = asker
    answered_at = utc_now()
    subject = subject_key(decision.subject_id)
    values = {
        "decision_id": decision.decision_id,
        "checked_at": answered_at,
        "relying_party": key_id,
        "relying_party_label": label,
        "purpose": purpose,
        "subject": decision.subject_id,
        "subject_key": subject,
        "action": decision.action,
        "as_of": decision.as_of,
        "effect": decision.effect,
        "policy_version": decision.policy_version,
    }
    with store.transaction():
        (group,) = connection.execute(
            "INSERT INTO check_log_groups (written_at, sealed) "
            f"VALUES ({mark}, {mark}) RETURNING id",
            (store.instant(answered_at), True),
        ).fetchone()
        stored = {
            **values,
            "group_id": group,
            "checked_at": store.instant(answered_at),
            "as_of": store.day(decision.as_of),
            "request_id": REQUEST_ID.get(),
        }
        connection.execute(
            f"INSERT INTO check_log ({', '.join(_ROW_COLUMNS)}) "
            f"VALUES ({', '.join([mark] * len(_ROW_COLUMNS))})",
            tuple(stored[name] for name in _ROW_COLUMNS),
        )
        payload = group_payload([[values[name] for name in SEALED_COLUMNS]])
        tree = append_bare(store, [LeafInput(KIND, str(group), payload)], rebuilt=True)
        if signing is not None:
            sign_bare(store, tree, signing)
        connection.execute(
            f"INSERT INTO check_log_subjects (subject_key, group_id) VALUES ({mark}, {mark})",
            (subject, group),
        )
    return int(group)

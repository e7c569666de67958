"""The assembly: which feature acts on which other feature's changes, where the ledger finds
the content of each kind of event, how a trained scorecard is loaded, and what ``xinyong ledger
verify`` recomputes beyond the tree.

Features announce their changes (``xinyong.signals``) and never wire themselves to one another;
this module, at the top with the app and the command line, connects them. The app, the command
line and the tests call ``assemble()`` before they do anything else.
"""

from collections.abc import Callable
from typing import Any

from xinyong.accounts.reset import reset_requested
from xinyong.audit.history import KIND as ACCESS_KIND
from xinyong.audit.history import rebuild_accesses
from xinyong.audit.service import record_access
from xinyong.enforcement.changes import entries_changed
from xinyong.enforcement.checklog import KIND as CHECK_KIND
from xinyong.enforcement.checklog import group_payloads
from xinyong.enforcement.refresh import refresh_changed
from xinyong.integrity.cli import check_derived, print_derived
from xinyong.ledger import RebuildPayloads, register_source
from xinyong.ledger.cli import DerivedCheck, register_derived_check
from xinyong.records.changes import records_changed
from xinyong.records.history import KIND_PREFIX as RECORD_KINDS
from xinyong.records.history import rebuild_record_events
from xinyong.rights.reviews import EvidenceRead, evidence_read
from xinyong.rights.transports import send_reset_link
from xinyong.rights.triggers import notify_changed_entries, notify_changed_records
from xinyong.scorecard.model import Scorecard
from xinyong.scoring.scorecard import register_artefact_loader
from xinyong.signals import Signal


def _log_evidence_read(read: EvidenceRead) -> None:
    noun = "objection" if read.kind == "objection" else "repair application"
    record_access(
        read.session,
        person=read,
        subject_id=read.subject_id,
        purpose=f"review of {noun} {read.case_id}",
        what=f"evidence file {read.position} of case {read.case_id}",
    )


LISTENERS: tuple[tuple[Signal[Any], Callable[[Any], None]], ...] = (
    # New negative records are told before the refresh tells of the listings they cause.
    (records_changed, notify_changed_records),
    (records_changed, refresh_changed),
    (entries_changed, notify_changed_entries),
    # A password reset link leaves through the notices' transport.
    (reset_requested, send_reset_link),
    # A reviewer's read of a subject's evidence is a staff read: the access log keeps it.
    (evidence_read, _log_evidence_read),
)
"""Each signal with a listener, in the order the listeners run."""

SOURCES: tuple[tuple[str, RebuildPayloads], ...] = (
    (RECORD_KINDS, rebuild_record_events),
    (ACCESS_KIND, rebuild_accesses),
    (CHECK_KIND, group_payloads),
)
"""Kinds of ledger events whose content lives in a feature's tables, with its rebuilder."""


def assemble() -> None:
    """Connect every listener and register every ledger source (doing it twice is harmless)."""
    for signal, listener in LISTENERS:
        signal.connect(listener)
    for prefix, rebuild in SOURCES:
        register_source(prefix, rebuild)
    register_artefact_loader(Scorecard.load)
    register_derived_check(DerivedCheck(check_derived, print_derived))

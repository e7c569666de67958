"""Names of the codes the pages of signed-in people (their own file, the consoles) show, in
the page's language.

Like ``labels``: the English texts are message ids, marked with ``N_`` for extraction.
"""

from __future__ import annotations

from collections.abc import Callable

from jinja2 import Environment

from xinyong.web.labels import N_, label

ROLES = {
    "subject": N_("subject"),
    "operator": N_("operator"),
    "reviewer": N_("reviewer"),
    "auditor": N_("auditor"),
    "authority": N_("authority staff"),
    "relying_party": N_("relying party"),
}
CASE_KINDS = {"objection": N_("objection"), "repair": N_("credit repair")}
CASE_STATUSES = {
    "open": N_("open"),
    "upheld": N_("upheld"),
    "rejected": N_("rejected"),
    "granted": N_("granted"),
    "refused": N_("refused"),
}
OUTCOMES = {
    "upheld": N_("Uphold"),
    "rejected": N_("Reject"),
    "granted": N_("Grant"),
    "refused": N_("Refuse"),
}
DISCLOSURES = {
    "public": N_("public"),
    "shared": N_("shared with authorities"),
    "subject_only": N_("only you"),
}
RECORD_STATUSES = {
    "active": N_("in force"),
    "withdrawn": N_("withdrawn"),
    "repaired": N_("repaired"),
    "expired": N_("expired"),
    "corrected": N_("corrected"),
}
EVENTS = {
    "submitted": N_("submitted"),
    "corrected": N_("corrected"),
    "withdrawn": N_("withdrawn"),
    "disputed": N_("disputed"),
    "resolved": N_("dispute decided"),
    "repaired": N_("repaired"),
    "expired": N_("expired"),
}
END_REASONS = {
    "period": N_("its period ran out"),
    "removed": N_("removed: the obligation was performed"),
    "withdrawn": N_("the decision was revoked"),
    "corrected": N_("the record was corrected"),
    "repaired": N_("credit repair was granted"),
}
ENTRY_STATES = {"active": N_("in force"), "pending": N_("not yet started"), "ended": N_("ended")}
CONDITIONS = {
    "repairable": N_("The record can be repaired"),
    "minimum_period": N_("The minimum publicity period has passed"),
    "obligations_performed": N_("The obligations are performed"),
    "credit_commitment": N_("A credit commitment is signed"),
}
ACCESS_KINDS = {
    "staff_read": N_("read by staff"),
    "check": N_("check by a relying party"),
    "mirror_check": N_("check by a relying party's mirror"),
}
EVALUATION_STATUSES = {
    "running": N_("running"),
    "complete": N_("complete"),
    "failed": N_("failed"),
}

_TABLES = {
    "role_label": ROLES,
    "case_kind_label": CASE_KINDS,
    "case_status_label": CASE_STATUSES,
    "outcome_label": OUTCOMES,
    "disclosure_label": DISCLOSURES,
    "record_status_label": RECORD_STATUSES,
    "event_label": EVENTS,
    "entry_state_label": ENTRY_STATES,
    "end_reason_label": END_REASONS,
    "condition_label": CONDITIONS,
    "access_label": ACCESS_KINDS,
    "evaluation_status_label": EVALUATION_STATUSES,
}


def _labeller(table: dict[str, str]) -> Callable[[str], str]:
    def named(code: str) -> str:
        return label(table, code)

    return named


def register(environment: Environment) -> None:
    """Make every label a template global and a filter (``role_label(x)``, ``x | role_label``)."""
    for name, table in _TABLES.items():
        labeller = _labeller(table)
        environment.globals[name] = labeller
        environment.filters[name] = labeller

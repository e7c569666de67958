"""Names of codes (list kinds, effects, grades, record fields) in the page's language.

The English texts are message ids: ``N_`` marks them for extraction, ``label`` translates them
when a page is rendered.
"""

from __future__ import annotations

from xinyong.web.i18n import gettext_


def N_(message: str) -> str:
    return message


LIST_KINDS = {"black": N_("black list"), "red": N_("red list"), "watch": N_("watch list")}
EFFECTS = {
    "allow": N_("allowed"),
    "deny": N_("denied"),
    "review": N_("sent to review"),
    "expedite": N_("expedited"),
    "waive_deposit": N_("deposit waived"),
    "reduce_inspection": N_("fewer inspections"),
}
SEVERITIES = {"minor": N_("minor"), "general": N_("general"), "serious": N_("serious")}
FIELDS = {
    "reason": N_("reason"),
    "licence_no": N_("licence number"),
    "licence_name": N_("licence"),
    "valid_until": N_("valid until"),
    "penalty_kind": N_("penalty"),
    "violation": N_("violation"),
    "basis": N_("basis"),
    "subject_matter": N_("subject matter"),
    "status": N_("status"),
    "title": N_("title"),
    "level": N_("level"),
    "patent_no": N_("patent number"),
    "right_kind": N_("right"),
    "case_no": N_("case number"),
    "cause": N_("cause"),
    "ground": N_("ground"),
    "obligation": N_("obligation"),
    "basis_document": N_("basis document"),
    "how": N_("how performed"),
    "months_in_arrears": N_("months in arrears"),
    "conduct": N_("conduct"),
    "certificate_no": N_("certificate number"),
    "workers_affected": N_("workers affected"),
    "legal_representative_name": N_("legal representative"),
    "address": N_("address"),
    "name": N_("name"),
    "org_type": N_("organisation type"),
    "registered_capital": N_("registered capital"),
    "established_on": N_("established on"),
    "listing_document_no": N_("listing decision"),
    "commitment_document_no": N_("commitment document"),
    "extension_months": N_("extended by (months)"),
}


def label(table: dict[str, str], code: str) -> str:
    """The translated name of ``code`` in ``table``, or the code itself when it has none."""
    message = table.get(code)
    return gettext_(message) if message else code


def kind_label(kind: str) -> str:
    return label(LIST_KINDS, kind)


def effect_label(effect: str) -> str:
    return label(EFFECTS, effect)


def severity_label(severity: str) -> str:
    return label(SEVERITIES, severity)


def field_label(field: str) -> str:
    return label(FIELDS, field)

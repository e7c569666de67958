"""Names of codes (list kinds, effects, grades, record fields) in the page's language.

The English texts are message ids: ``N_`` marks them for extraction, ``label`` translates them
when a page is rendered.
"""

from __future__ import annotations

import re

from xinyong.policy.models import LegalBasis
from xinyong.web.i18n import current, gettext_


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
    "other_penalty_kinds": N_("other penalties"),
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
    "grade": N_("grade"),
    "loan_kind": N_("kind of loan"),
    "agency": N_("agency"),
    "contract_no": N_("contract number"),
    "days_overdue": N_("days overdue"),
    "hours": N_("hours"),
    "months": N_("months"),
    "organisation": N_("organisation"),
    "rating": N_("rating"),
    "score": N_("score"),
    "term_months": N_("term (months)"),
    "utilisation_pct": N_("utilisation, per cent"),
    "volume_ml": N_("volume (ml)"),
    "year": N_("year"),
}

FIELD_VALUES = {
    "reason": {
        "false_information": N_("false information"),
        "no_annual_report": N_("no annual report"),
        "no_disclosure": N_("information not disclosed"),
        "unreachable_address": N_("cannot be reached at its address"),
    },
    "penalty_kind": {
        "closure": N_("order to close"),
        "confiscation": N_("confiscation"),
        "detention": N_("administrative detention"),
        "fine": N_("fine"),
        "licence_revocation": N_("licence revoked"),
        "suspension": N_("suspension of business"),
        "warning": N_("warning"),
    },
    "loan_kind": {
        "business": N_("business loan"),
        "consumer": N_("consumer loan"),
        "credit_card": N_("credit card"),
        "mortgage": N_("mortgage"),
        "other": N_("other"),
        "student": N_("student loan"),
    },
    "status": {
        "advanced_certified": N_("advanced certified enterprise"),
        "other": N_("other"),
        "untrustworthy": N_("untrustworthy enterprise"),
    },
    "level": {
        "district": N_("district"),
        "municipal": N_("municipal"),
        "national": N_("national"),
        "provincial": N_("provincial"),
    },
    "right_kind": {
        "geographical_indication": N_("geographical indication"),
        "other": N_("other"),
        "patent": N_("patent"),
        "trademark": N_("trademark"),
    },
    "ground": {
        "able_but_refuses": N_("able to perform but refuses"),
        "breaks_asset_reporting": N_("breaks the duty to report assets"),
        "breaks_consumption_restriction": N_("breaks the consumption restriction"),
        "evades_by_sham_litigation_or_hiding_assets": N_(
            "evades enforcement by sham litigation or hiding assets"
        ),
        "obstructs_by_false_evidence_violence_or_threats": N_(
            "obstructs enforcement by false evidence, violence or threats"
        ),
        "refuses_settlement": N_("refuses to perform a settlement"),
    },
    "how": {
        "basis_revoked": N_("the basis was revoked"),
        "enforcement_terminated": N_("enforcement terminated"),
        "performed": N_("performed"),
        "settlement_performed": N_("settlement performed"),
    },
    "conduct": {
        "fare_evasion": N_("fare evasion"),
        "other": N_("other"),
        "smoking_on_bullet_train": N_("smoking on a bullet train"),
        "ticket_scalping": N_("ticket scalping"),
    },
    "org_type": {
        "enterprise": N_("enterprise"),
        "farmers_cooperative": N_("farmers' cooperative"),
        "foundation": N_("foundation"),
        "individual_business": N_("individual business"),
        "private_non_enterprise": N_("private non-enterprise unit"),
        "social_organisation": N_("social organisation"),
    },
}
"""Words for the coded values of record fields (the catalogue's enums)."""


# A decision of several kinds of penalty: the others are named as the gravest is.
FIELD_VALUES["other_penalty_kinds"] = FIELD_VALUES["penalty_kind"]


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


def value_label(field: str, value: object) -> str:
    """A record field's value in words: a coded value translated (each of a list's), a date in
    the page's language is left to the template, anything else as it is."""
    if isinstance(value, list):
        return ", ".join(value_label(field, item) for item in value)
    text = "" if value is None else str(value)
    return label(FIELD_VALUES.get(field, {}), text)


_ARTICLES = re.compile(r"^Arts?\.\s*(?P<numbers>[0-9][0-9,\s-]*)$")


def article_label(article: str) -> str:
    """A pack's ``Art. 36`` or ``Arts. 79, 81, 82`` as Chinese writes it on a Chinese page
    (第36条, 第79、81、82条); anything else as it is."""
    found = _ARTICLES.match(article.strip())
    if found is None or current().code != "zh":
        return article
    numbers = [part.strip() for part in found["numbers"].split(",") if part.strip()]
    return "第" + "、".join(number.replace("-", "至") for number in numbers) + "条"


def basis_label(basis: LegalBasis | dict[str, str | None]) -> str:
    """A legal basis as a line of text: its title and the articles relied on."""
    fields = basis.model_dump() if isinstance(basis, LegalBasis) else basis
    article = fields.get("article")
    if not article:
        return str(fields["title"])
    shown = article_label(article)
    # 第36条 follows the title directly; "Art. 36" after a space.
    return f"{fields['title']}{'' if shown != article else ' '}{shown}"

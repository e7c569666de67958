"""Policy packs: the catalogue, authorities and rules, as YAML folders loaded into typed models.

A pack is validated once, when it is loaded; everything downstream trusts the ``Pack``.

Importing the package loads none of its modules: each name below is imported when it is first
used, so that what reads only the pack's files (``xinyong.policy.folders``, which the check
command's decision table is keyed by) does not build the pack's models.
"""

from typing import TYPE_CHECKING

from xinyong.lazy import exports

if TYPE_CHECKING:
    from xinyong.policy.authorities import (
        REGISTERING_KINDS,
        Authority,
        AuthorityKind,
        AuthorityLevel,
    )
    from xinyong.policy.catalogue import (
        CATEGORY_LABELS,
        PENALTY_PUBLICITY_MONTHS,
        AmountRule,
        Category,
        Disclosure,
        Domain,
        JurisdictionRule,
        Polarity,
        PublicityPeriod,
        RecordType,
        Severity,
        SubjectKind,
    )
    from xinyong.policy.errors import PolicyError, PolicyIssue
    from xinyong.policy.fields_schema import FieldsValidator
    from xinyong.policy.json_schema import pack_json_schema
    from xinyong.policy.jurisdiction import Jurisdiction
    from xinyong.policy.loader import (
        check_pack,
        load_pack,
        load_shipped,
        pack_in_force,
        shipped_pack_names,
        shipped_pack_path,
    )
    from xinyong.policy.models import Bilingual, LegalBasis, PackManifest
    from xinyong.policy.pack import Pack
    from xinyong.policy.summary import PackSummary, summarise

_MODULES = {
    "REGISTERING_KINDS": "xinyong.policy.authorities",
    "Authority": "xinyong.policy.authorities",
    "AuthorityKind": "xinyong.policy.authorities",
    "AuthorityLevel": "xinyong.policy.authorities",
    "CATEGORY_LABELS": "xinyong.policy.catalogue",
    "PENALTY_PUBLICITY_MONTHS": "xinyong.policy.catalogue",
    "AmountRule": "xinyong.policy.catalogue",
    "Category": "xinyong.policy.catalogue",
    "Disclosure": "xinyong.policy.catalogue",
    "Domain": "xinyong.policy.catalogue",
    "JurisdictionRule": "xinyong.policy.catalogue",
    "Polarity": "xinyong.policy.catalogue",
    "PublicityPeriod": "xinyong.policy.catalogue",
    "RecordType": "xinyong.policy.catalogue",
    "Severity": "xinyong.policy.catalogue",
    "SubjectKind": "xinyong.policy.catalogue",
    "PolicyError": "xinyong.policy.errors",
    "PolicyIssue": "xinyong.policy.errors",
    "FieldsValidator": "xinyong.policy.fields_schema",
    "pack_json_schema": "xinyong.policy.json_schema",
    "Jurisdiction": "xinyong.policy.jurisdiction",
    "check_pack": "xinyong.policy.loader",
    "load_pack": "xinyong.policy.loader",
    "load_shipped": "xinyong.policy.loader",
    "pack_in_force": "xinyong.policy.loader",
    "shipped_pack_names": "xinyong.policy.loader",
    "shipped_pack_path": "xinyong.policy.loader",
    "Bilingual": "xinyong.policy.models",
    "LegalBasis": "xinyong.policy.models",
    "PackManifest": "xinyong.policy.models",
    "Pack": "xinyong.policy.pack",
    "PackSummary": "xinyong.policy.summary",
    "summarise": "xinyong.policy.summary",
}
"""Where each public name lives."""


__getattr__ = exports(globals(), _MODULES)


__all__ = [
    "CATEGORY_LABELS",
    "PENALTY_PUBLICITY_MONTHS",
    "REGISTERING_KINDS",
    "AmountRule",
    "Authority",
    "AuthorityKind",
    "AuthorityLevel",
    "Bilingual",
    "Category",
    "Disclosure",
    "Domain",
    "FieldsValidator",
    "Jurisdiction",
    "JurisdictionRule",
    "LegalBasis",
    "Pack",
    "PackManifest",
    "PackSummary",
    "Polarity",
    "PolicyError",
    "PolicyIssue",
    "PublicityPeriod",
    "RecordType",
    "Severity",
    "SubjectKind",
    "check_pack",
    "load_pack",
    "load_shipped",
    "pack_in_force",
    "pack_json_schema",
    "shipped_pack_names",
    "shipped_pack_path",
    "summarise",
]

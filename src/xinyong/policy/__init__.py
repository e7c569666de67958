"""Policy packs: the catalogue, authorities and rules, as YAML folders loaded into typed models.

A pack is validated once, when it is loaded; everything downstream trusts the ``Pack``.
"""

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

"""Unified social credit code (统一社会信用代码, USCC), GB 32100-2015.

Eighteen characters from the 31-symbol alphabet ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (values
0-30; I, O, S, V and Z are never used):

=========  ==============================================================================
position   meaning
=========  ==============================================================================
1          registration-authority code (登记管理部门代码)
2          entity-type code (机构类别代码), read under the registration authority
3-8        administrative-division code of the registering authority (GB/T 2260), digits
9-17       organisation code (GB 11714), with its own check character at position 17
18         check character: (31 - sum of value x 3^(i-1) mod 31) mod 31, per GB/T 17710
=========  ==============================================================================

The check makes the weighted sum of all 18 values 0 mod 31, the check character weighing 1.
31 is prime and no weight is 0 mod 31, so any single substitution within the alphabet is
detected. 3 has order 30 mod 31, so positions 1-17 all weigh differently and every
transposition of two different characters is detected too, except between positions 1 and 18,
which both weigh 1.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

from xinyong.identifiers import orgcode

__all__ = [
    "ALPHABET",
    "ENTITY_TYPES",
    "REGISTRATION_AUTHORITIES",
    "WEIGHTS",
    "CodeName",
    "Findings",
    "check_character",
    "examine",
    "make",
]

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))

# value x weight of every character at every position, so a check is 17 dict lookups.
_TERMS = tuple({ch: value * weight for value, ch in enumerate(ALPHABET)} for weight in WEIGHTS)
_ALPHABET_SET = frozenset(ALPHABET)
_ORG_CHECK_SET = frozenset(orgcode.CHECK_CHARACTERS)


@dataclass(frozen=True, slots=True)
class CodeName:
    """A code from a GB 32100 table with its Chinese and English names."""

    code: str
    name_zh: str
    name_en: str


def _table(rows: dict[str, tuple[str, str]]) -> Mapping[str, CodeName]:
    return MappingProxyType({code: CodeName(code, zh, en) for code, (zh, en) in rows.items()})


# GB 32100-2015 table 2 with its twelve registration authorities, as public implementations
# agree on it. The 2015 text is reported to list only 1, 5, 9 and Y; the other rows are
# believed to come from a later amendment (docs/sources.md §1).
REGISTRATION_AUTHORITIES: Mapping[str, CodeName] = _table(
    {
        "1": ("机构编制", "institutional staffing"),
        "2": ("外交", "foreign affairs"),
        "3": ("司法行政", "judicial administration"),
        "4": ("文化", "culture"),
        "5": ("民政", "civil affairs"),
        "6": ("旅游", "tourism"),
        "7": ("宗教", "religious affairs"),
        "8": ("工会", "trade unions"),
        "9": ("工商", "industry and commerce, now market regulation"),
        "A": ("中央军委改革和编制办公室", "CMC reform and staffing office"),
        "N": ("农业", "agriculture"),
        "Y": ("其他", "other"),
    }
)

_OTHER = ("其他", "other")

ENTITY_TYPES: Mapping[str, Mapping[str, CodeName]] = MappingProxyType(
    {
        "1": _table(
            {
                "1": ("机关", "government organ"),
                "2": ("事业单位", "public institution"),
                "3": ("编办直管群众团体", "mass organisation under the staffing office"),
                "9": _OTHER,
            }
        ),
        "2": _table({"1": ("外国常驻新闻机构", "resident foreign news agency"), "9": _OTHER}),
        "3": _table(
            {
                "1": ("律师执业机构", "law firm"),
                "2": ("公证处", "notary office"),
                "3": ("基层法律服务所", "grassroots legal service office"),
                "4": ("司法鉴定机构", "forensic appraisal institution"),
                "5": ("仲裁委员会", "arbitration commission"),
                "9": _OTHER,
            }
        ),
        "4": _table({"1": ("外国在华文化中心", "foreign cultural centre in China"), "9": _OTHER}),
        "5": _table(
            {
                "1": ("社会团体", "social organisation"),
                "2": ("民办非企业单位", "private non-enterprise unit"),
                "3": ("基金会", "foundation"),
                "9": _OTHER,
            }
        ),
        "6": _table(
            {
                "1": (
                    "外国旅游部门常驻代表机构",
                    "resident office of a foreign tourism authority",
                ),
                "2": (
                    "港澳台旅游部门常驻内地代表机构",
                    "mainland office of a Hong Kong, Macao or Taiwan tourism authority",
                ),
                "9": _OTHER,
            }
        ),
        "7": _table(
            {
                "1": ("宗教活动场所", "place of religious activity"),
                "2": ("宗教院校", "religious school"),
                "9": _OTHER,
            }
        ),
        "8": _table({"1": ("基层工会", "grassroots trade union"), "9": _OTHER}),
        "9": _table(
            {
                "1": ("企业", "enterprise"),
                "2": ("个体工商户", "individual business"),
                "3": ("农民专业合作社", "farmers' specialised cooperative"),
            }
        ),
        "A": _table({"1": ("军队事业单位", "military public institution"), "9": _OTHER}),
        "N": _table(
            {
                "1": ("组级集体经济组织", "group-level collective economic organisation"),
                "2": ("村级集体经济组织", "village-level collective economic organisation"),
                "3": ("乡镇级集体经济组织", "township-level collective economic organisation"),
                "9": _OTHER,
            }
        ),
        "Y": _table({"1": _OTHER}),
    }
)


class Findings(NamedTuple):
    """What examining a normalised USCC found, with the parts that could be decoded."""

    errors: tuple[str, ...]
    suspect: bool
    warnings: tuple[str, ...] = ()
    registration_authority: CodeName | None = None
    entity_type: CodeName | None = None
    region_code: str | None = None
    org_code: str | None = None
    org_code_valid: bool | None = None


def _check(body17: str) -> str:
    total = sum(map(dict.__getitem__, _TERMS, body17))
    return ALPHABET[(31 - total % 31) % 31]


def check_character(body17: str) -> str:
    """The GB 32100 check character (position 18) for the first 17 characters ``body17``."""
    if len(body17) != 17 or not _ALPHABET_SET.issuperset(body17):
        raise ValueError(f"a USCC body is 17 characters from {ALPHABET}, got {body17!r}")
    return _check(body17)


def make(registration_authority: str, entity_type: str, region_code: str, org_body: str) -> str:
    """Assemble a valid USCC, computing the GB 11714 and GB 32100 check characters.

    ``org_body`` is the 8-character body of the organisation code, from the USCC alphabet.
    """
    entity_types = ENTITY_TYPES.get(registration_authority)
    if entity_types is None:
        raise ValueError(f"unknown registration-authority code {registration_authority!r}")
    if entity_type not in entity_types:
        raise ValueError(
            f"unknown entity-type code {entity_type!r} under registration authority "
            f"{registration_authority!r}"
        )
    if len(region_code) != 6 or not (region_code.isascii() and region_code.isdigit()):
        raise ValueError(f"a region code is 6 digits, got {region_code!r}")
    if len(org_body) != 8 or not _ALPHABET_SET.issuperset(org_body):
        raise ValueError(f"an organisation-code body is 8 characters from {ALPHABET}")
    body = (
        registration_authority
        + entity_type
        + region_code
        + org_body
        + orgcode.check_character(org_body)
    )
    return body + _check(body)


def _character_errors(code: str) -> list[str]:
    errors = []
    for position, ch in enumerate(code, 1):
        if 3 <= position <= 8:
            if not ("0" <= ch <= "9"):
                errors.append(
                    f"position {position} is {ch!r}; positions 3-8 (region code) are digits"
                )
        elif ch not in _ALPHABET_SET:
            errors.append(
                f"position {position} is {ch!r}, which GB 32100 does not use "
                "(its alphabet is 0-9 and A-Z without I, O, S, V, Z)"
            )
        elif position == 17 and ch not in _ORG_CHECK_SET:
            errors.append(
                f"position 17 is {ch!r}; the organisation-code check character is a digit or X"
            )
    return errors


def examine(code: str) -> Findings:
    """Check a normalised USCC and decode it.

    Malformed (an error, never suspect): wrong length, a character outside the alphabet, a
    non-digit in the region code, an unknown registration authority. Suspect: everything else
    is right but the organisation-code check (position 17), the USCC check (position 18) or
    both are wrong, as in some codes registries have actually issued. An entity type not in
    the table under a known registration authority is only a warning.
    """
    if len(code) != 18:
        return Findings(
            (f"has {len(code)} characters; a unified social credit code has 18",), False
        )
    well_formed = (
        _ALPHABET_SET.issuperset(code) and code[2:8].isdigit() and code[16] in _ORG_CHECK_SET
    )
    errors = [] if well_formed else _character_errors(code)
    warnings: tuple[str, ...] = ()

    authority = REGISTRATION_AUTHORITIES.get(code[0])
    entity_type = None
    if authority is None:
        if code[0] in _ALPHABET_SET:
            errors.append(
                f"registration-authority code {code[0]!r} (position 1) is not assigned in GB 32100"
            )
    else:
        entity_type = ENTITY_TYPES[authority.code].get(code[1])
        if entity_type is None:
            warnings = (
                f"entity-type code {code[1]!r} (position 2) is not assigned under "
                f"registration authority {authority.code!r} ({authority.name_zh})",
            )

    org_code = code[8:17]
    org_code_valid = orgcode.is_valid(org_code)
    suspect = False
    if well_formed:
        check_errors = []
        if not org_code_valid:
            expected = orgcode.check_character(org_code[:8])
            check_errors.append(
                f"organisation-code check character (position 17) is {code[16]!r}, "
                f"expected {expected!r}"
            )
        expected = _check(code[:17])
        if code[17] != expected:
            check_errors.append(
                f"check character (position 18) is {code[17]!r}, expected {expected!r}"
            )
        suspect = not errors and bool(check_errors)
        errors.extend(check_errors)

    region_code = code[2:8]
    return Findings(
        errors=tuple(errors),
        suspect=suspect,
        warnings=warnings,
        registration_authority=authority,
        entity_type=entity_type,
        region_code=region_code if region_code.isascii() and region_code.isdigit() else None,
        org_code=org_code,
        org_code_valid=org_code_valid,
    )

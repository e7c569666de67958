"""Loading a policy pack folder: report every problem found, then build the pack once.

Reading runs in stages that each keep going past a failure: the folder layout, YAML syntax,
the models of every document (valid items of a partly invalid document are kept), duplicate
codes, the pack it extends, and cross-references. Only a pack without a single issue is built.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from xinyong.config import Settings, get_settings
from xinyong.policy.concepts import CONCEPTS, KNOWN_ENTRIES, Concept
from xinyong.policy.errors import Location, PolicyError, PolicyIssue, format_location
from xinyong.policy.folders import (
    PACK_FILE,
    SHIPPED_PACKS,
    chosen_folder,
    is_pack_name,
    pack_digest,
)
from xinyong.policy.models import CodedModel, PackManifest
from xinyong.policy.pack import Pack
from xinyong.policy.references import PackItems, reference_problems
from xinyong.policy.yaml_source import YamlDocument, parse_yaml


def load_pack(path: Path | str) -> Pack:
    """Load and validate the pack in folder ``path``; ``PolicyError`` lists every issue."""
    pack, issues = _assemble(Path(path), ())
    if pack is None:
        raise PolicyError(issues)
    return pack


def check_pack(path: Path | str) -> list[PolicyIssue]:
    """Every issue of the pack in folder ``path``; empty when it loads."""
    return _assemble(Path(path), ())[1]


def shipped_pack_names() -> list[str]:
    """Names of the packs shipped with xinyong."""
    return sorted(entry.name for entry in SHIPPED_PACKS.iterdir() if (entry / PACK_FILE).is_file())


def shipped_pack_path(name: str) -> Path:
    """Folder of the shipped pack ``name``; ``LookupError`` if there is none."""
    folder = SHIPPED_PACKS / name
    if not is_pack_name(name) or not (folder / PACK_FILE).is_file():
        raise LookupError(
            f"no shipped policy pack {name!r}; shipped: {', '.join(shipped_pack_names())}"
        )
    return folder


def load_shipped(name: str = "national") -> Pack:
    """The shipped pack ``name``, loaded once per process."""
    return _load_shipped(name)


def pack_in_force(settings: Settings | None = None) -> Pack:
    """The pack the platform runs under (``XINYONG_PACK``): a shipped pack by name, or the pack
    in a folder; loaded once per process."""
    chosen = (settings or get_settings()).pack
    folder = chosen_folder(chosen)
    if folder.parent == SHIPPED_PACKS and folder.name == chosen:
        return _load_shipped(chosen)
    return _load_folder(folder)


def pack_chain(folder: Path) -> list[Path]:
    """The folders of the pack in ``folder`` and of the packs it extends, the root first (for
    a pack that loads: its manifest and every pack it extends are readable)."""
    chain = [folder]
    while True:
        document, _ = parse_yaml((chain[0] / PACK_FILE).read_text("utf-8"), PACK_FILE)
        manifest = _read_manifest(document, [])
        parent = None
        if manifest is not None and manifest.extends is not None:
            parent = _find_pack(chain[0], manifest.extends)
        if parent is None:
            return chain
        chain.insert(0, parent)


@cache
def _load_folder(path: Path) -> Pack:
    return load_pack(path)


@cache
def _load_shipped(name: str) -> Pack:
    # Behind a one-argument function so that load_shipped() and load_shipped("national")
    # share one cache entry.
    return load_pack(shipped_pack_path(name))


@dataclass(frozen=True)
class _Located:
    """An item with where it was read, for reporting problems found later."""

    item: CodedModel
    file: str
    location: Location
    document: YamlDocument

    def issue(self, within: Location, message: str) -> PolicyIssue:
        location = (*self.location, *within)
        return PolicyIssue(
            self.file, format_location(location), message, self.document.line_of(location)
        )


def _assemble(folder: Path, visiting: tuple[Path, ...]) -> tuple[Pack | None, list[PolicyIssue]]:
    if not folder.is_dir():
        return None, [PolicyIssue(str(folder), "", "not a folder")]
    files, issues = _list_files(folder)
    sources = {path: (folder / path).read_bytes() for path in files}
    documents = _parse_documents(sources, issues)

    manifest_document = documents.get(PACK_FILE)
    manifest = _read_manifest(manifest_document, issues)
    own: dict[str, dict[str, _Located]] = {concept.key: {} for concept in CONCEPTS}
    declared: dict[str, set[str]] = {concept.key: set() for concept in CONCEPTS}
    for concept in CONCEPTS:
        for path in sorted(documents):
            if concept.holds(path):
                _read_items(concept, path, documents[path], own[concept.key], declared, issues)

    parent: Pack | None = None
    # Cross-references are checked only when the pack this one builds on is known and
    # readable; otherwise they would report every item it was meant to provide.
    extends_known, extends = _extends(manifest, manifest_document, PACK_FILE in sources)
    if extends is not None:
        own_name = manifest.name if manifest else None
        parent, found = _read_parent(folder, own_name, extends, manifest_document, visiting)
        issues.extend(found)
    items = {
        concept.key: _merged(parent.concept_items(concept.key) if parent else {}, own[concept.key])
        for concept in CONCEPTS
    }
    if extends_known and (extends is None or parent is not None):
        issues.extend(_reference_issues(items, own, declared, parent, manifest_document))

    if issues or manifest is None:
        return None, sorted(issues, key=lambda issue: (issue.file, issue.line or 0, issue.path))
    pack = Pack.model_validate(
        {
            "name": manifest.name,
            "version": manifest.version,
            "title": manifest.title,
            "description": manifest.description,
            "extends": manifest.extends,
            "digest": pack_digest(sources, parent.digest if parent else None),
            **items,
        }
    )
    return pack, []


def _parse_documents(
    sources: Mapping[str, bytes], issues: list[PolicyIssue]
) -> dict[str, YamlDocument]:
    documents: dict[str, YamlDocument] = {}
    for path, content in sources.items():
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            issues.append(PolicyIssue(path, "", f"not UTF-8 text: {exc}"))
            continue
        document, found = parse_yaml(text, path)
        issues.extend(found)
        if document is not None:
            documents[path] = document
    return documents


def _extends(
    manifest: PackManifest | None, document: YamlDocument | None, has_manifest_file: bool
) -> tuple[bool, str | None]:
    """Whether it is known which pack this one extends, and its name.

    An invalid ``pack.yaml`` still names the pack it extends when its ``extends`` is a
    plain name, so a typo elsewhere in the manifest does not hide the rest of the checks.
    """
    if manifest is not None:
        return True, manifest.extends
    if not has_manifest_file:
        return True, None
    data = document.data if document is not None else None
    if not isinstance(data, dict):
        return False, None
    extends = data.get("extends")
    if extends is None:
        return "extends" not in data, None
    if isinstance(extends, str) and is_pack_name(extends):
        return True, extends
    return False, None


def _list_files(folder: Path) -> tuple[list[str], list[PolicyIssue]]:
    """Relative paths of the pack's files, and an issue for anything that is not one."""
    single_files = {PACK_FILE} | {concept.entry for concept in CONCEPTS if not concept.is_folder}
    folders = {concept.entry for concept in CONCEPTS if concept.is_folder}
    files: list[str] = []
    issues: list[PolicyIssue] = []
    # Hidden entries (.git, editor swap files) are not part of a pack.
    for entry in sorted(_visible(folder.iterdir())):
        if entry.name in single_files and entry.is_file():
            files.append(entry.name)
        elif entry.name in folders and entry.is_dir():
            for inner in sorted(_visible(entry.iterdir())):
                path = f"{entry.name}/{inner.name}"
                if inner.is_file() and inner.suffix == ".yaml":
                    files.append(path)
                else:
                    issues.append(
                        PolicyIssue(path, "", f"not a pack file: {entry.name}/ holds *.yaml files")
                    )
        else:
            issues.append(PolicyIssue(entry.name, "", _unknown_entry(entry.name)))
    if PACK_FILE not in files:
        issues.append(PolicyIssue(PACK_FILE, "", "missing: every pack has a pack.yaml"))
    return files, issues


def _visible(entries: Iterable[Path]) -> list[Path]:
    return [entry for entry in entries if not entry.name.startswith(".")]


def _unknown_entry(name: str) -> str:
    message = f"unknown entry; a pack folder holds only {', '.join(KNOWN_ENTRIES)}"
    guesses = difflib.get_close_matches(name, KNOWN_ENTRIES, n=1)
    return f"{message} (did you mean {guesses[0]}?)" if guesses else message


def _read_manifest(document: YamlDocument | None, issues: list[PolicyIssue]) -> PackManifest | None:
    if document is None:
        return None
    try:
        return PackManifest.model_validate(document.data)
    except ValidationError as exc:
        issues.extend(_validation_issues(exc, PACK_FILE, document))
        return None


def _read_items(
    concept: Concept,
    path: str,
    document: YamlDocument,
    items: dict[str, _Located],
    declared: dict[str, set[str]],
    issues: list[PolicyIssue],
) -> None:
    try:
        valid = list(enumerate(concept.document.model_validate(document.data).items()))
    except ValidationError as exc:
        issues.extend(_validation_issues(exc, path, document))
        valid = _valid_items(concept, document.data, declared[concept.key])
    for index, item in valid:
        located = _Located(item, path, (concept.key, index), document)
        first = items.get(item.code)
        if first is None:
            items[item.code] = located
        else:
            issues.append(
                located.issue(
                    ("code",),
                    f"{item.code!r} is already defined at {first.file}: "
                    f"{format_location(first.location)}",
                )
            )


def _valid_items(
    concept: Concept, data: object, declared: set[str]
) -> list[tuple[int, CodedModel]]:
    """The items of an invalid document that are valid on their own.

    The codes of the invalid ones go to ``declared``, so references to them are not reported
    a second time as unknown.
    """
    raw_items = data.get(concept.key) if isinstance(data, dict) else None
    if not isinstance(raw_items, list):
        return []
    valid: list[tuple[int, CodedModel]] = []
    for index, raw in enumerate(raw_items):
        try:
            valid.append((index, concept.item.model_validate(raw)))
        except ValidationError:
            if isinstance(raw, dict) and isinstance(raw.get("code"), str):
                declared.add(raw["code"])
    return valid


_MESSAGES = {
    "missing": "required key missing",
    "extra_forbidden": "unknown key",
}


def _validation_issues(
    error: ValidationError, path: str, document: YamlDocument
) -> list[PolicyIssue]:
    details = error.errors(include_url=False)
    item_failures = {detail["loc"][:-1] for detail in details if detail["loc"]}
    issues = []
    for detail in details:
        # A list whose only items are invalid is also "too short"; the items say why.
        if detail["type"] == "too_short" and any(
            failure[: len(detail["loc"])] == detail["loc"] for failure in item_failures
        ):
            continue
        # Pydantic marks a bad mapping key with a trailing "[key]"; the key itself says where.
        location = tuple(part for part in detail["loc"] if part != "[key]")
        issues.append(
            PolicyIssue(
                path, format_location(location), _message(detail), document.line_of(location)
            )
        )
    return issues


# A key whose absence deserves more than "required key missing".
_MISSING_HINTS = {
    "jurisdiction": "required key missing: every record type states about which subjects its "
    "authorities may submit it (anywhere, subject_region or registration_authority)",
}


def _message(detail: ErrorDetails) -> str:
    context = detail.get("ctx") or {}
    if detail["type"] == "value_error" and "error" in context:
        return str(context["error"])
    if detail["type"] == "missing" and detail["loc"]:
        hint = _MISSING_HINTS.get(str(detail["loc"][-1]))
        if hint is not None:
            return hint
    return _MESSAGES.get(detail["type"], detail["msg"])


def _read_parent(
    folder: Path,
    own_name: str | None,
    name: str,
    document: YamlDocument | None,
    visiting: tuple[Path, ...],
) -> tuple[Pack | None, list[PolicyIssue]]:
    def problem(message: str) -> tuple[None, list[PolicyIssue]]:
        line = document.line_of(("extends",)) if document else None
        return None, [PolicyIssue(PACK_FILE, "extends", message, line)]

    if name == own_name:
        return problem("a pack cannot extend itself")
    parent_folder = _find_pack(folder, name)
    if parent_folder is None:
        return problem(
            f"no pack {name!r} in a sibling folder or among the shipped packs "
            f"({', '.join(shipped_pack_names())})"
        )
    chain = (*visiting, folder.resolve())
    if parent_folder.resolve() in chain:
        return problem(f"packs extend each other in a cycle through {name!r}")
    parent, issues = _assemble(parent_folder, chain)
    if parent is None:
        return None, [
            PolicyIssue(f"{name}/{issue.file}", issue.path, issue.message, issue.line)
            for issue in issues
        ]
    if parent.name != name:
        return problem(f"folder {name}/ holds pack {parent.name!r}")
    return parent, []


def _find_pack(folder: Path, name: str) -> Path | None:
    """A sibling folder named ``name`` first (packs developed together), then a shipped one."""
    for candidate in (folder.parent / name, SHIPPED_PACKS / name):
        if (candidate / PACK_FILE).is_file() and candidate.resolve() != folder.resolve():
            return candidate
    return None


def _merged(
    inherited: Mapping[str, CodedModel], own: Mapping[str, _Located]
) -> dict[str, CodedModel]:
    """The parent's items, replaced whole by this pack's items of the same code."""
    return {**inherited, **{code: located.item for code, located in own.items()}}


def _reference_issues(
    items: PackItems,
    own: Mapping[str, Mapping[str, _Located]],
    declared: Mapping[str, set[str]],
    parent: Pack | None,
    manifest_document: YamlDocument | None,
) -> list[PolicyIssue]:
    issues = []
    for problem in reference_problems(items, declared):
        located = own[problem.concept].get(problem.code)
        if located is not None:
            issues.append(located.issue(problem.location, problem.message))
        else:
            # An item of the extended pack, broken by an item this pack replaced.
            where = f"{problem.concept}[{problem.code!r}].{format_location(problem.location)}"
            line = manifest_document.line_of(("extends",)) if manifest_document else None
            parent_name = parent.name if parent else ""
            message = f"in {parent_name}, {where}: {problem.message}"
            issues.append(PolicyIssue(PACK_FILE, "extends", message, line))
    return issues

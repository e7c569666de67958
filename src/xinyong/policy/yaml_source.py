"""Reading one YAML file of a pack: its data, the line of every value, and its syntax errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from xinyong.policy.errors import Location, PolicyIssue, format_location

# libyaml parses about ten times faster; both keep the marks the line index needs.
_Loader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


@dataclass(frozen=True)
class YamlDocument:
    """Parsed data and, for each location in it, the 1-based line where its value starts."""

    data: object
    lines: Mapping[Location, int] = field(default_factory=dict)

    def line_of(self, location: Location) -> int | None:
        """Line of the deepest part of ``location`` present in the file (a missing key's parent)."""
        for end in range(len(location), -1, -1):
            line = self.lines.get(location[:end])
            if line is not None:
                return line
        return None


def parse_yaml(text: str, file: str) -> tuple[YamlDocument | None, list[PolicyIssue]]:
    """Parse ``text`` (one YAML document, safe tags only); on a syntax error return the issue."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        where = f" at line {line}, column {mark.column + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "unreadable"
        return None, [PolicyIssue(file, "", f"YAML syntax error{where}: {problem}", line)]
    except yaml.YAMLError as exc:
        return None, [PolicyIssue(file, "", f"YAML error: {exc}")]
    finally:
        loader.dispose()
    if node is None:
        return None, [PolicyIssue(file, "", "the file is empty")]
    lines: dict[Location, int] = {}
    issues: list[PolicyIssue] = []
    _index(node, (), lines, issues, file, frozenset())
    return YamlDocument(data, lines), issues


def _index(
    node: Node,
    location: Location,
    lines: dict[Location, int],
    issues: list[PolicyIssue],
    file: str,
    ancestors: frozenset[int],
) -> None:
    # An alias can point back at an ancestor; its lines were indexed where it was defined.
    if id(node) in ancestors:
        return
    ancestors = ancestors | {id(node)}
    lines[location] = node.start_mark.line + 1
    if isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                continue
            key = str(key_node.value)
            key_line = key_node.start_mark.line + 1
            if key in seen:
                # PyYAML keeps the last value silently; a repeated key is almost always a slip.
                issues.append(
                    PolicyIssue(
                        file,
                        format_location((*location, key)),
                        f"key repeated (first at line {seen[key]}); only one is allowed",
                        key_line,
                    )
                )
            seen.setdefault(key, key_line)
            _index(value_node, (*location, key), lines, issues, file, ancestors)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _index(item, (*location, index), lines, issues, file, ancestors)

"""Every test checks something: a test function with no assertion, no ``pytest.raises`` and no
call of a checking helper would pass whatever the code did."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _called(node: ast.AST) -> str:
    function = node.func if isinstance(node, ast.Call) else None
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else ""


def checks(function: ast.AST, helpers: set[str]) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Assert):
            return True
        name = _called(node)
        if name in {"raises", "warns", "fail"} | helpers or name.startswith(("assert", "expect")):
            return True
    return False


def unchecked(path: Path) -> list[str]:
    functions = [
        node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.FunctionDef)
    ]
    helpers: set[str] = set()
    # A helper checks when it asserts or calls a helper that does (a few levels deep).
    for _ in range(3):
        helpers |= {
            f.name for f in functions if not f.name.startswith("test") and checks(f, helpers)
        }
    return [
        f"{path.name}:{f.lineno} {f.name}"
        for f in functions
        if f.name.startswith("test") and not checks(f, helpers)
    ]


def test_every_test_checks_something() -> None:
    found = [name for path in sorted(TESTS.rglob("*.py")) for name in unchecked(path)]
    assert found == []


def test_the_scan_finds_a_test_that_checks_nothing(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(
        "def helper(x):\n    assert x\n\n"
        "def test_checks():\n    helper(1)\n\n"
        "def test_silent():\n    print(1)\n"
    )
    scanned = unchecked(tmp_path / "test_sample.py")
    assert [name.split(" ")[1] for name in scanned] == ["test_silent"]

"""Every test checks something: a test function with no assertion, no ``pytest.raises`` and no
call of a checking helper would pass whatever the code did."""

import ast
from collections.abc import Callable
from functools import cache
from pathlib import Path

TESTS = Path(__file__).resolve().parent


@cache
def parsed(path: Path) -> ast.Module:
    """A test module's syntax tree, read once for every scan of this file."""
    return ast.parse(path.read_text())


def everywhere(scan: Callable[[Path], list[str]]) -> list[str]:
    """What ``scan`` finds in every test module."""
    return [found for path in sorted(TESTS.rglob("*.py")) for found in scan(path)]


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
    functions = [node for node in ast.walk(parsed(path)) if isinstance(node, ast.FunctionDef)]
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
    assert everywhere(unchecked) == []


def test_the_scan_finds_a_test_that_checks_nothing(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(
        "def helper(x):\n    assert x\n\n"
        "def test_checks():\n    helper(1)\n\n"
        "def test_silent():\n    print(1)\n"
    )
    scanned = unchecked(tmp_path / "test_sample.py")
    assert [name.split(" ")[1] for name in scanned] == ["test_silent"]


def loops_on_the_main_thread(path: Path) -> list[str]:
    """Calls of ``asyncio.run`` in a test module's own code (scripts a test hands to another
    process are strings, and not counted). A worker whose browser tests hold Playwright open
    has a running loop on its main thread, so such a call fails there and passes elsewhere:
    tests use ``xinyong.testing.coroutines.run_alone``."""
    return [
        f"{path.name}:{node.lineno}"
        for node in ast.walk(parsed(path))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "run"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "asyncio"
    ]


def test_no_test_runs_an_event_loop_on_the_main_thread() -> None:
    assert everywhere(loops_on_the_main_thread) == []


def test_the_scan_finds_a_loop_run_on_the_main_thread(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(
        "import asyncio\n\n"
        "SCRIPT = 'asyncio.run(main())'\n\n"
        "def test_loop():\n    assert asyncio.run(main())\n"
    )
    assert loops_on_the_main_thread(tmp_path / "test_sample.py") == ["test_sample.py:6"]

"""Habits of the test suite that review once found broken, held by reading its source: test
modules share code through tests/support/, never by importing one another, and write only
under the temporary folders pytest gives them."""

import ast

from tests.support.servers import BASE_DIR

TESTS = BASE_DIR / "tests"
FIXED_TMP = ("/tmp/", "/var/tmp/")  # a file or folder there, named by the test itself
SOURCES = sorted(path for path in TESTS.rglob("*.py") if "vendor" not in path.parts and "data" not in path.parts)


def imported_modules(path):
    """The modules a file imports, relative imports resolved against its package."""
    package = ".".join(path.relative_to(BASE_DIR).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def is_a_test_module(name):
    parts = name.split(".")
    return parts[0] == "tests" and len(parts) == 2 and parts[1].startswith(("test_", "conftest"))


def test_the_sources_are_found():
    names = {path.name for path in SOURCES}
    assert {"test_webhook.py", "test_habits.py", "webhooks.py", "conftest.py"} <= names


def test_no_module_imports_a_test_module():
    offenders = {
        str(path.relative_to(TESTS)): imported
        for path in SOURCES
        if (imported := [name for name in imported_modules(path) if is_a_test_module(name)])
    }
    assert not offenders, f"share these through tests/support/ instead: {offenders}"


def fixed_temporary_paths(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    strings = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    return [text for text in strings if text.startswith(FIXED_TMP) and text not in FIXED_TMP]


def test_no_module_names_a_fixed_temporary_path():
    offenders = {str(path.relative_to(TESTS)): fixed for path in SOURCES if (fixed := fixed_temporary_paths(path))}
    assert not offenders, f"use tmp_path or tmp_path_factory instead: {offenders}"


def test_a_test_sleeps_only_for_the_behaviour_under_test_and_says_so():
    """Tests wait for a condition with a deadline (tests/support/waiting.py). A fixed sleep
    is left only where the time itself is under test (an idle socket, an outage's length), and
    its line says so."""
    unexplained = [
        f"{path.name}:{number}"
        for path in SOURCES
        if path.name.startswith("test_") and path.name != "test_habits.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "sleep(" in line and "#" not in line
    ]
    assert not unexplained, f"wait for a condition instead (tests/support/waiting.py): {unexplained}"

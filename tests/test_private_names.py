"""No module takes a `_private` name from another of our modules. Ruff's PLC2701 checks this only
across top-level packages (a name taken from `parking.x` inside `parking` passes it), so this test
reads the imports itself, imports inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: None left: the pages' split made the names they shared public.
KNOWN_IN_WEB: set[tuple[str, str, str]] = set()


def private_imports(root: Path, *folders: str) -> set[tuple[str, str, str]]:
    found = set()
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    for alias in node.names:
                        if alias.name.startswith("_") and not alias.name.startswith("__"):
                            found.add((path.relative_to(root).as_posix(), node.module, alias.name))
    return found


def test_no_module_takes_a_private_name_from_another_of_ours():
    taken = {
        found for found in private_imports(ROOT, "parking", "schedules", "bench") if found[1].startswith("parking")
    }
    assert taken - KNOWN_IN_WEB == set()


def test_the_scan_finds_a_private_name_taken_inside_a_function(tmp_path):
    """The check can fail: a module that takes `_hidden` from another, even inside a function."""
    (tmp_path / "parking").mkdir()
    (tmp_path / "parking" / "a.py").write_text("def f():\n    from parking.b import _hidden\n")
    assert private_imports(tmp_path, "parking") == {("parking/a.py", "parking.b", "_hidden")}

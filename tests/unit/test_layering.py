"""Layering of gaorg's modules, read with ``ast`` (nothing is imported or executed).

Every import counts, wherever it is written: at the top, inside a function, or under
``TYPE_CHECKING`` (a seam is a seam, even when only the type checker crosses it); a module that
calls ``importlib.import_module`` imports every gaorg module it names in a string. The test asserts
(1) no two gaorg modules import each other and (2) no module takes a name starting with ``_``
from another gaorg module (``from m import _x``, or ``m._x`` on an imported module). What other
engineers still own is allowlisted below, each entry with the pair and the reason; an entry that
no longer matches anything fails the test, so the list cannot outlive the seam it excuses.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Pairs of modules (paths from the repository root) that may still import each other.
ALLOWED_PAIRS: set[frozenset[str]] = set()

# (importing module, imported module, name): private names still taken across modules.
ALLOWED_PRIVATE: set[tuple[str, str, str]] = set()


def module_paths(root: Path = ROOT) -> dict[str, str]:
    """Dotted module name -> path from ``root``, for every module of gaorg/."""
    out = {}
    for path in sorted((root / "gaorg").rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path.relative_to(root).as_posix()
    return out


def _base(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    keep = len(parts) - node.level + (1 if is_package else 0)
    return ".".join(parts[:keep] + ([node.module] if node.module else []))


def scan(root: Path = ROOT) -> tuple[dict[str, set[str]], list[tuple[str, str, str, int]]]:
    """The import graph (path -> imported paths) and every private name taken across modules:
    ``(importer, imported, name, line)``."""
    modules = module_paths(root)
    graph: dict[str, set[str]] = {p: set() for p in modules.values()}
    private: list[tuple[str, str, str, int]] = []
    for name, path in modules.items():
        tree = ast.parse((root / path).read_text(encoding="utf-8"), filename=path)
        is_package = path.endswith("__init__.py")
        aliases: dict[str, str] = {}  # local name bound to a gaorg module -> that module's path
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in modules:
                        graph[path].add(modules[a.name])
                        if a.asname:
                            aliases[a.asname] = modules[a.name]
            elif isinstance(node, ast.ImportFrom):
                base = _base(name, is_package, node)
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    if sub in modules:  # a submodule: ``from gaorg.data import bulk``
                        graph[path].add(modules[sub])
                        aliases[a.asname or a.name] = modules[sub]
                        if a.name.startswith("_"):
                            private.append((path, modules[sub], a.name, node.lineno))
                    elif base in modules:
                        graph[path].add(modules[base])
                        if a.name.startswith("_") and not a.name.startswith("__"):
                            private.append((path, modules[base], a.name, node.lineno))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and node.attr.startswith("_") and not node.attr.startswith("__")):
                private.append((path, aliases[node.value.id], node.attr, node.lineno))
        if any(isinstance(n, (ast.Name, ast.Attribute)) and getattr(n, "id", getattr(n, "attr", "")) == "import_module"
               for n in ast.walk(tree)):  # importlib by name: every gaorg module named in the file counts
            graph[path] |= {modules[n.value] for n in ast.walk(tree)
                            if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in modules}
        graph[path].discard(path)
    return graph, private


def mutual_pairs(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    return {frozenset({a, b}) for a, targets in graph.items() for b in targets if a in graph.get(b, ())}


def test_no_two_modules_import_each_other():
    pairs = mutual_pairs(scan()[0])
    for pair in sorted(sorted(p) for p in pairs):
        print("mutual import:", " <-> ".join(pair))
    unexcused = {p for p in pairs if p not in ALLOWED_PAIRS}
    assert not unexcused, "modules that import each other: " + "; ".join(
        " <-> ".join(sorted(p)) for p in sorted(unexcused, key=sorted))
    stale = ALLOWED_PAIRS - pairs
    assert not stale, f"allowlisted pairs that no longer import each other (remove them): {stale}"


def test_no_private_names_across_modules():
    found = scan()[1]
    for importer, imported, name, line in sorted(found):
        print(f"private name: {importer}:{line} takes {name} from {imported}")
    unexcused = sorted({f"{i} takes {n} from {m} (line {ln})" for i, m, n, ln in found
                        if (i, m, n) not in ALLOWED_PRIVATE})
    assert not unexcused, "private names taken across modules: " + "; ".join(unexcused)
    stale = ALLOWED_PRIVATE - {(i, m, n) for i, m, n, _ in found}
    assert not stale, f"allowlisted private names no longer taken (remove them): {stale}"


def test_the_scan_sees_every_kind_of_import(tmp_path):
    """The scanner itself, on a made-up package: imports in functions, under TYPE_CHECKING,
    relative, by importlib, and private names by ``from`` or through a module alias."""
    files = {
        "gaorg/__init__.py": "",
        "gaorg/p/__init__.py": "from . import a\n",
        "gaorg/p/a.py": "def f():\n    from gaorg.p.b import _hidden\n",
        "gaorg/p/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import f\n",
        "gaorg/p/c.py": "import gaorg.p.a as mod\nmod._x\n",
        "gaorg/hub.py": "import importlib\nNAMES = ('gaorg.p.c',)\nimportlib.import_module(NAMES[0])\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph, private = scan(tmp_path)
    assert graph["gaorg/p/__init__.py"] == {"gaorg/p/a.py"}
    assert graph["gaorg/hub.py"] == {"gaorg/p/c.py"}
    assert mutual_pairs(graph) == {frozenset({"gaorg/p/a.py", "gaorg/p/b.py"})}
    assert {(i, m, n) for i, m, n, _ in private} == {("gaorg/p/a.py", "gaorg/p/b.py", "_hidden"),
                                                    ("gaorg/p/c.py", "gaorg/p/a.py", "_x")}

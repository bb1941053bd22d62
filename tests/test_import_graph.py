"""The package's imports: no import circle, and the auditor never imports the simulator.

Every `import` and `from ... import` in `auditor/` and `simulator/` is read with `ast`, at module
level and inside functions alike (a function-level import is still a dependency: it only moves
the failure to run time). `from auditor.report import build` counts as importing
`auditor.report.build`; a package's `__init__` is the package itself. A module's own enclosing
packages are not counted: Python imports them before the module whatever it says, and a package
that re-exports its modules' names (`auditor/importers/__init__.py`) is not a circle with them.
"""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("auditor", "simulator")

# No circle is known: the rules package (`auditor/rules/`) imports in one direction
# (core <- laws <- loader <- citations; measures <- loader).
KNOWN_CYCLES: set[frozenset[str]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in sorted((REPO / package).rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module an imported name lives in (`auditor.facts.Judge` -> `auditor.facts`)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `module` imports, anywhere in its file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from auditor.report import build` imports the module auditor.report.build;
            # `from auditor.facts import Judge` the module auditor.facts.
            names = [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            target = _resolve(name, modules)
            if target is not None and target != module and not module.startswith(target + "."):
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {m: imports_of(m, p, modules) for m, p in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_is_read_from_every_module():
    graph = import_graph()
    assert len(graph) > 50
    # Function-level imports count: `scan` imports `overview` at the top, `overview` imports
    # `score` inside `_score`.
    assert "auditor.overview" in graph["auditor.scan"]
    assert "auditor.score" in graph["auditor.overview"]
    assert "auditor.facts" in graph["simulator.exercise"]


def test_no_import_circle_but_the_known_one():
    found = cycles(import_graph())
    unknown = [sorted(c) for c in found if c not in KNOWN_CYCLES]
    assert not unknown, f"import circles: {unknown}"


def test_the_auditor_never_imports_the_simulator():
    graph = import_graph()
    offenders = sorted((m, t) for m, targets in graph.items() if m.startswith("auditor")
                       for t in targets if t.split(".")[0] == "simulator")
    assert not offenders, offenders


def test_the_cycle_finder_finds_a_planted_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [frozenset({"a", "b", "c"})]

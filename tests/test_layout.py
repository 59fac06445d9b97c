"""The Python layout's rules (docs/ARCHITECTURE.md, "Layout"): orchestration/lib never imports the
Dagster definitions (defs/) or the run driver (run/), defs/ never imports run/, and no module
imports itself back through others. Imports inside functions count: a deferred import is still a
dependency, and a circle of them is what made the definitions and the pipeline import each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports() -> dict[str, set[str]]:
    """Module -> the project modules it imports anywhere in its code. `from package import name`
    counts as an import of package.name when that is a module, else of the package; a module's
    own enclosing packages (which Python imports first anyway) are left out."""
    files = {module_name(p): p for p in (ROOT / "orchestration").rglob("*.py")}

    def known(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {known(a.name) for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else known(base))
        graph[module] = {m for m in found if m and m != module and not module.startswith(m + ".")}
    return graph


def test_the_layers_only_look_down():
    graph = project_imports()
    assert "orchestration.run.pipeline" in graph and graph["orchestration.run.pipeline"], "no imports found"
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        for target in targets
        if (module.startswith("orchestration.lib.") and target.startswith(("orchestration.defs", "orchestration.run")))
        or (module.startswith("orchestration.defs") and target.startswith("orchestration.run"))
        or (module.startswith(("orchestration.lib.", "orchestration.defs")) and target == "orchestration.cli")
    )
    assert wrong == []


def test_no_module_imports_itself_back():
    graph = project_imports()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan: every strongly connected set of two or more modules
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph.get(module, ()):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            circle = []
            while not circle or circle[-1] != module:
                circle.append(stack.pop())
            if len(circle) > 1:
                circles.append(sorted(circle))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert circles == []

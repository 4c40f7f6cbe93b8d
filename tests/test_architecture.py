"""The layout holds: the domains never import `bot`, and no module imports itself back through others.

Imports are read from the source (every `import` and `from … import`, inside functions too), so a cycle
dodged by an import inside a function still counts.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "enterprises", "intents", "policies", "routing", "storage", "tabular")
DOMAINS = ("enterprises", "intents", "policies", "routing", "storage", "tabular")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imported(module: str, path: Path) -> Iterator[str]:
    """Our modules that `module` imports (a `from package import name` counts the submodule when it is one)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                yield name


GRAPH = {module: set(_imported(module, path)) for module, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:  # noqa: C901 -- Tarjan's algorithm reads best whole
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_modules_were_found() -> None:
    assert {"bot.app", "bot.chat.inbox", "routing.lifecycle", "intents.matcher", "storage.base"} <= set(MODULES)
    assert "routing.lifecycle" in GRAPH["routing.rectification"]


def test_domains_never_import_bot() -> None:
    offenders = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module.startswith(DOMAINS)
        for target in targets
        if target == "bot" or target.startswith("bot.")
    )
    assert offenders == []


def test_intents_imports_nothing_of_ours_but_itself() -> None:
    offenders = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module.startswith("intents")
        for target in targets
        if not target.startswith("intents")
    )
    assert offenders == []


def test_enterprises_import_no_other_domain_but_the_shared_ones() -> None:
    # The policy list depends on enterprises (vocabulary, eligibility), never the other way round.
    allowed = ("enterprises", "storage", "tabular")
    offenders = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module.startswith("enterprises")
        for target in targets
        if not target.startswith(allowed)
    )
    assert offenders == []


def test_no_import_cycles() -> None:
    assert _cycles(GRAPH) == []


def test_a_cycle_would_be_found() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_bot_has_few_top_level_modules() -> None:
    top = sorted(path.name for path in (ROOT / "bot").glob("*.py"))
    assert top == ["__init__.py", "accounts.py", "app.py", "services.py"]

"""The package's layers point one way: no import cycle, and no layer imports one above it.

The import graph is read from the source (top-level AND function-level imports, so a cycle hidden inside a
function still counts), not from what happens to be imported at run time.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "thinktrim"

# Lower numbers are lower layers (STYLE.md): the user-error family, the leaves (answer vocabulary, config
# plumbing, terminal tables), data, lm, then the commands. A module may import its own package and lower layers;
# sibling packages of one layer stay independent of each other.
LAYERS = {
    "errors": 0,
    "answers": 1, "config": 1, "table": 1, "recipes": 1,
    "data": 2,
    "lm": 3,
    "refine": 4, "evaluate": 4,
    "train": 5, "curate": 5, "executor": 5,
    "report": 6,
    "cli": 7, "__main__": 7, "demo": 7,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The longest prefix of a dotted name that is one of our modules."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in known:
            return candidate
    return None


def imports_of(mod: str, path: Path, known: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{a.name}" for a in node.names] or [base]
        for name in names:
            target = resolve(name, known)
            if target and target != mod:
                out.add(target)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {mod: imports_of(mod, path, known) for mod, path in known.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def layer_of(mod: str) -> tuple[str, int]:
    top = mod.split(".")[1] if "." in mod else mod
    assert top in LAYERS, f"{mod}: package {top!r} has no layer in tests/test_layers.py"
    return top, LAYERS[top]


def test_the_graph_sees_function_level_imports() -> None:
    g = graph()
    assert g and all(m.startswith("thinktrim") for m in g)
    # cli registers each command inside a function: those edges must be in the graph.
    assert any(t.startswith("thinktrim.refine") for t in g["thinktrim.cli"])


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_layers_point_down() -> None:
    wrong = []
    for mod, targets in graph().items():
        if mod == "thinktrim":
            continue
        top, rank = layer_of(mod)
        for t in targets:
            if t == "thinktrim":
                continue
            t_top, t_rank = layer_of(t)
            if t_top != top and t_rank >= rank:
                wrong.append(f"{mod} -> {t}")
    assert wrong == []

"""The package's import graph, read from the source (imports inside functions included): no cycle,
and each layer imports only what lies below it — services (the domain, no Flask, no sockets) <
readmodel (who sees what) < workers (background loops) and web (pages) < live (Socket.IO)."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "moderation"

# layer -> the project's layers and the libraries it must not import
FORBIDDEN = {
    "moderation.services": ({"readmodel", "workers", "web", "live", "cli", "messages"},
                            {"flask", "flask_socketio", "socketio", "flask_login", "flask_babel"}),
    "moderation.readmodel": ({"workers", "web", "live", "cli"}, set()),
    "moderation.workers": ({"web", "live", "cli"}, set()),
    "moderation.web": ({"workers", "live", "cli"}, set()),
    "moderation.live": ({"web", "cli"}, set()),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported(name: str, path: Path, known: set[str]) -> tuple[set[str], set[str]]:
    """The project's modules this one imports, and the top-level names of the libraries it imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    ours, theirs = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] == "moderation":
                ours.add(target)
            else:
                theirs.add(target.split(".")[0])
    return ours, theirs


def graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    found = modules()
    edges, libraries = {}, {}
    for name, path in found.items():
        edges[name], libraries[name] = imported(name, path, set(found))
        edges[name] &= set(found)
    return edges, libraries


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, if it has any (depth-first search)."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_has_no_cycle():
    edges, _ = graph()
    assert {"moderation.services.steps", "moderation.workers.group", "moderation.readmodel.access"} <= set(edges)
    assert cycle(edges) is None, " -> ".join(cycle(edges) or [])


def test_the_cycle_finder_finds_one():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_each_layer_imports_only_what_lies_below_it():
    edges, libraries = graph()
    wrong = []
    for name in edges:
        for layer, (layers, libs) in FORBIDDEN.items():
            if name == layer or name.startswith(layer + "."):
                wrong += [(name, target) for target in edges[name]
                          if target.split(".")[1] in layers]
                wrong += [(name, lib) for lib in libraries[name] & libs]
    assert wrong == []

"""The import graph of our packages, read from the source with ``ast``: no cycle, no upward import.

Every ``import`` counts, at module level and inside functions alike (an import inside a function
is how a cycle hides until the function runs); only ``if TYPE_CHECKING:`` blocks are left out,
since they never run. Importing ``a.b.c`` runs ``a/__init__.py`` and ``a/b/__init__.py`` too, so a
module also depends on the packages its imports sit in (not on its own: those ran before it).

The rules (docs/architecture.md, "Import rules"):
- no cycle, at any depth;
- ``device_drivers`` imports nothing of the hub but the wire (WIRE: topics, payload models, the
  MQTT client) and the shared mechanisms below the application (BELOW_THE_APP: the error root,
  the problem formatter, the clock, listener lists, backoff), which import nothing else of the
  hub, and ``config.options``;
- the hub's core (``classroom_hub`` and ``config`` outside the declared packages) names no
  package and no device kind: it finds them through their declarations (entry points);
- a declaration (a package's or a kind's) stays cheap and below ``config.settings``, which reads
  them while it assembles the room's model.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOP = ("classroom_hub", "device_drivers", "stem_labs", "studio", "firmware_bridge", "config")
# The mechanisms every part shares, one module each (errors, problem text, the clock, listener
# lists, backoff, keys in addresses): below the application, importing nothing of the hub but one another.
BELOW_THE_APP = frozenset({
    "classroom_hub.errors", "classroom_hub.problems", "classroom_hub.clock", "classroom_hub.events",
    "classroom_hub.backoff", "classroom_hub.declarations", "classroom_hub.url_keys",
})  # fmt: skip
WIRE = frozenset({
    "classroom_hub", "classroom_hub.bus", "classroom_hub.bus.topics", "classroom_hub.bus.payloads",
    "classroom_hub.bus.link", "classroom_hub.bus.message", "classroom_hub.bus.paho_adapter",
}) | BELOW_THE_APP  # fmt: skip
DRIVERS_MAY_USE = WIRE | {"config", "config.options"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> dict[str, Path]:
    found = {}
    for top in TOP:
        for path in (ROOT / top).rglob("*.py"):
            if "firmware" in path.relative_to(ROOT / top).parts[:1] and top == "firmware_bridge":
                continue  # the reference firmware's own tools
            found[module_name(path)] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool, top_level_only: bool) -> Iterator[tuple[str, str | None]]:
    """(module, name imported from it or None) for every import that runs."""
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                stack.extend(child.orelse)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, None
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    package = module.split(".") if is_package else module.split(".")[:-1]
                    package = package[: len(package) - (child.level - 1)]
                    base = ".".join([*package, *([child.module] if child.module else [])])
                for alias in child.names:
                    yield base, alias.name
            elif top_level_only and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            else:
                stack.append(child)


def graph(top_level_only: bool = False) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (and the packages they sit in)."""
    known = sources()
    edges: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for target, attr in _imports(tree, name, path.name == "__init__.py", top_level_only):
            full = f"{target}.{attr}" if attr is not None and f"{target}.{attr}" in known else target
            if full.split(".")[0] not in TOP:
                continue
            parts = full.split(".")
            edges[name].update(".".join(parts[:n]) for n in range(1, len(parts) + 1) if ".".join(parts[:n]) in known)
        # The packages a module sits in have run before it: importing them again is no cycle.
        parts = name.split(".")
        edges[name] -= {".".join(parts[:n]) for n in range(1, len(parts) + 1)}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def declared(group: str) -> dict[str, str]:
    """Entry point name -> the declaring module, from pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {name: value.split(":")[0] for name, value in project["entry-points"][group].items()}


def roots(group: str) -> set[str]:
    """The folder each declaration sits in: everything under it is the package's (or kind's)."""
    return {module.rsplit(".", 1)[0] for module in declared(group).values()}


def under(module: str, folder: str) -> bool:
    return module == folder or module.startswith(folder + ".")


def test_the_import_graph_has_no_cycle() -> None:
    assert cycles(graph()) == []


def test_device_drivers_import_only_the_wire_of_the_hub() -> None:
    edges = graph()
    upward = sorted(f"{m} -> {t}" for m, ts in edges.items() if under(m, "device_drivers") for t in ts
                    if not under(t, "device_drivers") and t not in DRIVERS_MAY_USE)  # fmt: skip
    assert upward == []
    wire = sorted(f"{m} -> {t}" for m in WIRE if m in edges for t in edges[m] if t not in WIRE)
    assert wire == [], "the wire must import nothing else of the hub"


def test_the_shared_mechanisms_import_nothing_of_the_hub() -> None:
    edges = graph()
    assert edges.keys() >= BELOW_THE_APP
    above = sorted(f"{m} -> {t}" for m in BELOW_THE_APP for t in edges[m] if t not in BELOW_THE_APP | {"classroom_hub"})
    assert above == [], "errors, problems, clock, events and backoff sit below the application"


def test_the_core_names_no_package_and_no_device_kind() -> None:
    edges = graph()
    packages, kinds = roots("classroom_hub.packages"), roots("classroom_hub.device_kinds")
    assert len(packages) == 9 and len(kinds) >= 11

    def core(module: str) -> bool:
        return under(module, "classroom_hub") or under(module, "config")

    def named(target: str) -> bool:
        return any(under(target, root) for root in packages | kinds)

    upward = sorted(f"{m} -> {t}" for m, ts in edges.items()
                    if core(m) and not named(m) for t in ts if named(t))  # fmt: skip
    assert upward == []


def test_declarations_stay_below_the_room_model() -> None:
    edges = graph(top_level_only=True)
    declarations = {*declared("classroom_hub.packages").values(), *declared("classroom_hub.device_kinds").values()}
    for declaration in sorted(declarations):
        seen, todo = set(), [declaration]
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo.extend(edges.get(module, ()))
        assert "config.settings" not in seen, f"{declaration} imports config.settings when it is loaded"


def test_the_graph_sees_imports_inside_functions(tmp_path: Path) -> None:
    source = "import os\n\ndef f():\n    from classroom_hub import app\n\nif TYPE_CHECKING:\n    import studio\n"
    tree = ast.parse(source)
    assert list(_imports(tree, "x", False, False)) == [("os", None), ("classroom_hub", "app")]
    assert list(_imports(tree, "x", False, True)) == [("os", None)]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]

"""The package's architecture, enforced: folders are layers, each importing only those below it.

The order (lowest first) is the house layering::

    errors, _version, text helpers -> definitions -> data -> synth -> measures
        -> sdc (sdc.solver below the rest of sdc) -> charts -> release -> notebooks -> cli

Every ``import`` of an iaptkit module counts, wherever it stands (module level, inside a function,
under ``TYPE_CHECKING``), so a circle cannot hide behind a deferred import. The package facades
(``iaptkit/__init__.py`` and ``__main__.py``) may name any layer: they are the public API,
not a layer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "iaptkit"

# Lowest first. A module's layer is the longest prefix listed here that names it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("iaptkit.errors", "iaptkit._version"),
    ("iaptkit.definitions",),
    ("iaptkit.data",),
    ("iaptkit.synth",),
    ("iaptkit.measures",),
    ("iaptkit.sdc.solver",),
    ("iaptkit.sdc",),
    ("iaptkit.charts",),
    ("iaptkit.release",),
    ("iaptkit.notebooks",),
    ("iaptkit.cli",),
)
FACADES = {"iaptkit", "iaptkit.__main__"}
MAX_LINES = 500


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    names: tuple[str, ...]
    line: int
    where: str


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(source: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = source.split(".") if path.name == "__init__.py" else source.split(".")[:-1]
    if node.level > 1:
        package = package[: -(node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


def edges(known: dict[str, Path]) -> Iterator[Edge]:
    for source, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = resolve(source, path, node)
                if not target.startswith("iaptkit"):
                    continue
                names = tuple(a.name for a in node.names)
                for name in names:
                    sub = f"{target}.{name}"
                    if sub in known:  # ``from iaptkit.sdc import audit`` imports a module
                        yield Edge(source, sub, (), node.lineno, f"{path}:{node.lineno}")
                        names = tuple(n for n in names if n != name)
                if names:
                    yield Edge(source, target, names, node.lineno, f"{path}:{node.lineno}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("iaptkit"):
                        yield Edge(source, alias.name, (), node.lineno, f"{path}:{node.lineno}")


def layer_of(module: str) -> int:
    best, best_len = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    return best


KNOWN = modules()
EDGES = [e for e in edges(KNOWN) if e.source != e.target]


def test_every_module_has_a_layer() -> None:
    lost = [m for m in KNOWN if m not in FACADES and layer_of(m) < 0]
    assert not lost, f"modules outside every layer (add them to a layer folder): {lost}"


def test_no_upward_import() -> None:
    upward = [
        f"{e.where}: {e.source} (layer {layer_of(e.source)}) imports {e.target} "
        f"(layer {layer_of(e.target)})"
        for e in EDGES
        if e.source not in FACADES and layer_of(e.target) > layer_of(e.source)
    ]
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_no_import_circle() -> None:
    graph: dict[str, set[str]] = {m: set() for m in KNOWN}
    for e in EDGES:
        if e.target in KNOWN:
            graph[e.source].add(e.target)
    # Packages' __init__ re-export their modules; an edge into a package is an edge into __init__.
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import circles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_private_name_across_modules() -> None:
    private = [
        f"{e.where}: {e.source} imports {name} from {e.target}"
        for e in EDGES
        for name in e.names
        if name.startswith("_") and name != "__version__"
    ]
    private += [
        f"{e.where}: {e.source} imports the private module {e.target}"
        for e in EDGES
        if any(
            part.startswith("_") and part not in {"__init__", "_version"}
            for part in e.target.split(".")
        )
    ]
    assert not private, "private names used across modules:\n" + "\n".join(private)


def test_no_importlib_for_own_modules() -> None:
    found = []
    for _name, path in KNOWN.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        lazy_init = path.name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
                if lazy_init:  # a package's lazy ``__getattr__`` is allowed
                    continue
                found.append(f"{path}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "importlib used for iaptkit's own modules:\n" + "\n".join(found)


def test_only_the_cli_prints() -> None:
    found = []
    for name, path in KNOWN.items():
        if name.startswith("iaptkit.cli") or name in FACADES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "print"
            ):
                found.append(f"{path}:{node.lineno}: print(...)")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rich"):
                found.append(f"{path}:{node.lineno}: imports {node.module}")
            if isinstance(node, ast.Import) and any(a.name.startswith("rich") for a in node.names):
                found.append(f"{path}:{node.lineno}: imports rich")
    assert not found, "terminal output outside iaptkit.cli:\n" + "\n".join(found)


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_module_size(name: str) -> None:
    lines = len(KNOWN[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{KNOWN[name]} has {lines} lines (at most {MAX_LINES}): split it"


def test_the_checker_itself_finds_a_circle(tmp_path: Path) -> None:
    """The circle and layer checks are not vacuous: a known upward edge is seen."""
    upward = [e for e in EDGES if e.source.startswith("iaptkit.cli")]
    assert upward, "the cli imports nothing from iaptkit: the edge finder is broken"
    assert layer_of("iaptkit.sdc.solver.lp") < layer_of("iaptkit.sdc.audit")
    assert layer_of("iaptkit.data.loading") < layer_of("iaptkit.measures.derive")

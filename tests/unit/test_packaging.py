"""The project's set-up files agree with each other and with the code.

pyproject.toml and environment.yml list the same requirements; the runtime dependencies are
exactly what ``src/iaptkit`` imports (read with ``ast``, mapped to distributions with
``importlib.metadata.packages_distributions``), with each exception named and justified below;
the Makefile, CI and README agree on ``make test`` and ``make demo``.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "iaptkit"

#: Runtime dependencies that src/iaptkit does not import by name, and why they are declared.
NOT_IMPORTED_BUT_NEEDED = {
    # papermill starts a Jupyter kernel named python3 for every notebook run; ipykernel is that
    # kernel (the runner's error message even says to `python -m ipykernel install` it).
    "ipykernel": "the kernel papermill runs notebooks in",
    # ibis-framework generates SQL with sqlglot; the pin keeps a sqlglot release that ibis 10-12
    # works with (newer sqlglot releases have broken ibis before).
    "sqlglot": "a version pin for ibis-framework",
    # pandas.read_excel(..., engine default) loads openpyxl by name for .xlsx (release/checks.py).
    "openpyxl": "pandas' .xlsx engine, loaded by pandas (release checks read workbooks)",
}
#: Optional extras whose modules src may import, but only where the import cannot run at import
#: time (inside a function, under TYPE_CHECKING, or in try/except ImportError).
GUARDED_EXTRAS = ("spark",)


def _pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)["project"]  # type: ignore[no-any-return]


def _conda_pip_requirements() -> list[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml must have exactly one pip section"
    return [r for r in pip_sections[0] if not r.startswith("-e")]


def _normalise(req: str) -> tuple[str, frozenset[str], str]:
    r = Requirement(req)
    return (r.name.lower(), frozenset(r.extras), str(r.specifier))


def test_environment_yml_lists_exactly_the_pyproject_requirements() -> None:
    project = _pyproject()
    expected = {_normalise(d) for d in project["dependencies"]}  # type: ignore[union-attr]
    for extra in ("spark", "lab", "test", "dev"):
        expected |= {_normalise(d) for d in project["optional-dependencies"][extra]}  # type: ignore[index]
    found = {_normalise(d) for d in _conda_pip_requirements()}
    assert found - expected == set(), f"in environment.yml only: {sorted(found - expected)}"
    assert expected - found == set(), f"in pyproject.toml only: {sorted(expected - found)}"


def test_environment_yml_pins_python_311() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]


def test_required_extras_exist() -> None:
    extras = _pyproject()["optional-dependencies"]
    assert {"spark", "lab", "test", "dev"} <= set(extras)  # type: ignore[arg-type]
    assert any(r.startswith("pyspark") for r in extras["spark"])  # type: ignore[index]


def test_ci_runs_the_readme_test_command() -> None:
    ci_lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert ci_lines[-1] == "make test", f"CI's last command is {ci_lines[-1]!r}, not make test"
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    commands = {line.split("#")[0].strip() for block in blocks for line in block.splitlines()}
    assert {"make test", "make demo"} <= commands, "README's quick start must show both commands"


def _make_recipe(target: str) -> list[str]:
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def test_make_targets_run_what_the_readme_says() -> None:
    assert _make_recipe("demo") == ["$(PY) -m iaptkit.cli.demo --out $(DEMO)"]
    assert importlib.util.find_spec("iaptkit.cli.demo") is not None
    test_line = next(
        line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("test:")
    )
    assert test_line.split(":", 1)[1].split() == ["lint", "typecheck", "pytest"]
    assert any("--nbval-lax notebooks/" in line for line in _make_recipe("pytest"))


# --------------------------------------------------------------------------- imports


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """True when an import cannot run at module import time, or its failure is handled."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef):
            return True
        if isinstance(parent, ast.If) and "TYPE_CHECKING" in ast.unparse(parent.test):
            return child in parent.body
        if isinstance(parent, ast.Try) and child in parent.body:
            caught = {ast.unparse(h.type) for h in parent.handlers if h.type is not None}
            if caught & {"ImportError", "ModuleNotFoundError"}:
                return True
        child, parent = parent, parents.get(parent)
    return False


def _third_party_imports() -> Iterator[tuple[str, bool, str]]:
    """(top-level module, guarded, where) for every non-stdlib, non-iaptkit import in src."""
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "iaptkit" or top in sys.stdlib_module_names:
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                yield top, _guarded(node, parents), where


@functools.cache
def _module_distributions() -> dict[str, list[str]]:
    return dict(packages_distributions())  # slow (scans every installed distribution): once


def _distributions(module: str) -> set[str]:
    found = _module_distributions().get(module)
    assert found, f"{module}: imported by src but no installed distribution provides it"
    return {canonicalize_name(d) for d in found}


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


@pytest.fixture(scope="module")
def imports() -> list[tuple[str, bool, str]]:
    found = list(_third_party_imports())
    assert len({m for m, _, _ in found}) >= 10, "the import scan finds too little: is it broken?"
    return found


def test_everything_src_imports_is_declared(imports: list[tuple[str, bool, str]]) -> None:
    project = _pyproject()
    runtime = _names(project["dependencies"])  # type: ignore[arg-type]
    extras = project["optional-dependencies"]
    optional = set().union(*(_names(extras[e]) for e in GUARDED_EXTRAS))  # type: ignore[index]
    undeclared, unguarded = [], []
    for module, guarded, where in imports:
        dists = _distributions(module)
        if dists & runtime:
            continue
        if dists & optional:
            if not guarded:
                unguarded.append(f"{where}: {module} (an optional extra) imported unguarded")
            continue
        undeclared.append(f"{where}: {module} ({', '.join(sorted(dists))}) is not declared")
    assert not undeclared, "imported by src, missing from [project.dependencies]:\n" + "\n".join(
        undeclared
    )
    assert not unguarded, "\n".join(unguarded)


def test_every_runtime_dependency_is_imported(imports: list[tuple[str, bool, str]]) -> None:
    runtime = _names(_pyproject()["dependencies"])  # type: ignore[arg-type]
    imported = set().union(*(_distributions(module) for module, _, _ in imports))
    unused = runtime - imported - set(NOT_IMPORTED_BUT_NEEDED)
    assert not unused, f"declared in [project.dependencies] but never imported by src: {unused}"
    # every exception is still needed: declared, and really not imported
    stale = {name for name in NOT_IMPORTED_BUT_NEEDED if name not in runtime or name in imported}
    assert not stale, f"exceptions no longer needed (drop them from the list): {stale}"


def test_test_only_tools_are_not_runtime_dependencies() -> None:
    project = _pyproject()
    runtime = _names(project["dependencies"])  # type: ignore[arg-type]
    test = _names(project["optional-dependencies"]["test"])  # type: ignore[index]
    assert "nbval" in test
    assert not runtime & {"nbval", "pytest", "pandera", "hypothesis"}


def test_guard_detection_is_not_vacuous() -> None:
    tree = ast.parse(
        "import a\n"
        "def f():\n    import b\n"
        "try:\n    import c\nexcept ImportError:\n    c = None\n"
        "if TYPE_CHECKING:\n    import d\nelse:\n    import e\n"
        "try:\n    import g\nexcept KeyError:\n    pass\n"
    )
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    guarded = {
        node.names[0].name: _guarded(node, parents)
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
    }
    assert guarded == {"a": False, "b": True, "c": True, "d": True, "e": False, "g": False}

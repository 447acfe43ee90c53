"""The project's set-up files agree with each other (pyproject, environment.yml, Makefile, CI)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


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
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci
    assert "make test" in readme
    assert "make demo" in readme

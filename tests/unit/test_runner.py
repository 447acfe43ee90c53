"""Unit tests of the notebook runner (iaptkit.notebooks: parameters, runner, databricks; cli.run).

The fixture (tests/notebooks/fixtures/runner_fixture.ipynb) divides 10 by ``divisor`` and raises
on purpose when ``fail`` is true, so isolation of failures and the error message can be shown.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from typer.testing import CliRunner

from iaptkit.cli.app import app
from iaptkit.errors import ConfigError, NotebookError
from iaptkit.notebooks.databricks import databricks_widgets
from iaptkit.notebooks.parameters import (
    notebook_parameters,
    output_name,
    parse_param_args,
    read_grid,
    run_names,
    validate_parameters,
)
from iaptkit.notebooks.runner import KERNEL_START_ATTEMPTS, run_grid, run_notebook

FIXTURE = Path(__file__).parents[1] / "notebooks" / "fixtures" / "runner_fixture.ipynb"


@pytest.fixture
def fixture_nb(tmp_path: Path) -> Path:
    target = tmp_path / "runner_fixture.ipynb"
    shutil.copy(FIXTURE, target)
    return target


def _outputs_text(path: Path) -> str:
    nb = nbformat.read(str(path), as_version=4)
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text", ""))
    return "".join(texts)


# --------------------------------------------------------------------------- parameters


def test_parameters_are_read_from_the_tagged_cell() -> None:
    assert notebook_parameters(FIXTURE) == {
        "divisor": 1,
        "label": "base",
        "fail": False,
        "scale": 1.0,
    }


def test_notebook_without_parameters_cell(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("x = 1"))
    path = tmp_path / "plain.ipynb"
    nbformat.write(nb, str(path))
    with pytest.raises(NotebookError, match="exactly one code cell tagged 'parameters'; found 0"):
        notebook_parameters(path)


def test_missing_notebook() -> None:
    with pytest.raises(NotebookError, match="found nothing there"):
        notebook_parameters(Path("no/such/notebook.ipynb"))


def test_text_values_parsed_by_default_type() -> None:
    got = validate_parameters(
        FIXTURE, {"divisor": "4", "fail": "yes", "scale": "2", "label": "07"}, from_text=True
    )
    assert got == {"divisor": 4, "fail": True, "scale": 2.0, "label": "07"}
    assert isinstance(got["scale"], float)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"divisr": 2}, "unknown parameter 'divisr'"),
        ({"divisor": "two"}, "parameter 'divisor' expects int"),
        ({"fail": 1}, "parameter 'fail' expects bool"),
        ({"label": 5}, "parameter 'label' expects str"),
    ],
)
def test_bad_parameters_name_notebook_and_parameter(params: dict[str, Any], message: str) -> None:
    with pytest.raises(NotebookError, match=message) as info:
        validate_parameters(FIXTURE, params)
    assert str(FIXTURE) in str(info.value)


def test_text_that_does_not_parse() -> None:
    with pytest.raises(NotebookError, match=r"expects int .*found 'x1'"):
        validate_parameters(FIXTURE, {"divisor": "x1"}, from_text=True)
    with pytest.raises(NotebookError, match="expects bool"):
        validate_parameters(FIXTURE, {"fail": "maybe"}, from_text=True)


def test_parse_param_args() -> None:
    assert parse_param_args(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_param_args(["novalue"])


def test_output_names_differ_per_parameter_set() -> None:
    a = output_name(FIXTURE, {"label": "R1A", "divisor": 2})
    b = output_name(FIXTURE, {"label": "R1B", "divisor": 2})
    assert a == "runner_fixture__divisor-2__label-R1A.ipynb"
    assert a != b
    assert output_name(FIXTURE, {"label": "x y"}) == "runner_fixture__label-x_y.ipynb"
    # path values keep their last component; parameters at their default are left out
    defaults = notebook_parameters(FIXTURE)
    named = output_name(FIXTURE, {"label": "/data/run/extract", "divisor": 1}, defaults)
    assert named == "runner_fixture__label-extract.ipynb"


def test_shipped_grids_read_and_fit_the_outcomes_notebook() -> None:
    grids = Path(__file__).parents[2] / "notebooks" / "grids"
    notebook = grids.parent / "02_outcomes_report.ipynb"
    quarters = read_grid(grids / "outcomes_by_quarter.yaml")
    assert quarters[0] == {"start": "2023-04-01", "end": "2023-06-30"}
    assert [q["end"] for q in quarters] == ["2023-06-30", "2023-09-30", "2023-12-31", "2024-03-31"]
    providers = read_grid(grids / "outcomes_by_provider.yaml")
    assert providers == [{"provider": p} for p in ("", "RAA", "RAB", "RAC")]
    for params in quarters + providers:
        assert validate_parameters(notebook, params, from_text=True) == params


def test_grid_must_hold_mappings(tmp_path: Path) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected a list of parameter sets"):
        read_grid(grid)
    with pytest.raises(ConfigError, match="found nothing there"):
        read_grid(tmp_path / "missing.yaml")


# --------------------------------------------------------------------------- running


def test_progress_is_reported_through_the_callback(fixture_nb: Path, tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    grid = [{"label": "a"}, {"label": "b"}]
    run_grid(fixture_nb, grid, tmp_path / "out", progress=lambda *a: calls.append(a))
    assert calls == [
        ("runner_fixture.ipynb", 0, 2),
        ("runner_fixture__label-a.ipynb", 1, 2),
        ("runner_fixture__label-b.ipynb", 2, 2),
    ]


def test_run_notebook_executes_with_parameters(fixture_nb: Path, tmp_path: Path) -> None:
    result = run_notebook(fixture_nb, tmp_path / "out", {"divisor": 4, "label": "quarter"})
    assert result.status == "ok"
    assert result.output == tmp_path / "out" / "runner_fixture__divisor-4__label-quarter.ipynb"
    assert "quarter: 2.5" in _outputs_text(result.output)


def test_run_notebook_failure_raises_with_cell(fixture_nb: Path, tmp_path: Path) -> None:
    with pytest.raises(NotebookError) as info:
        run_notebook(fixture_nb, tmp_path / "out", {"fail": True, "label": "bad"})
    message = str(info.value)
    assert str(fixture_nb) in message
    assert "'fail': True" in message
    # cell 3 of the SOURCE notebook (markdown 0, parameters 1, division 2, raise 3)
    assert "failed in cell 3 ('if fail:')" in message
    assert "RuntimeError: deliberate failure for bad" in message


def test_grid_isolates_failures(fixture_nb: Path, tmp_path: Path) -> None:
    grid = [
        {"label": "one", "divisor": 1},
        {"label": "zero", "divisor": 0},  # ZeroDivisionError in cell 2
        {"label": "five", "divisor": 5},
    ]
    summary = run_grid(fixture_nb, grid, tmp_path / "out", workers=2)
    assert [r.status for r in summary.results] == ["ok", "failed", "ok"]
    assert not summary.ok
    assert len(summary.failed) == 1
    assert "failed in cell 2 ('result = scale * 10 / divisor')" in summary.failed[0].error
    assert "ZeroDivisionError" in summary.failed[0].error
    assert "five: 2.0" in _outputs_text(summary.results[2].output)
    assert "one: 10.0" in _outputs_text(summary.results[0].output)
    assert summary.failed[0].output.exists()  # kept for the analyst, up to the failing cell


def test_grid_validated_before_any_run(fixture_nb: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(NotebookError, match="unknown parameter 'colour'"):
        run_grid(fixture_nb, [{"label": "ok"}, {"colour": "red"}], out)
    assert not out.exists()


def test_grid_repeated_sets_rejected(fixture_nb: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(NotebookError, match=r"repeats a parameter set: runs 1 and 2 are both"):
        run_grid(fixture_nb, [{"label": "a"}, {"label": "a"}], out)
    # the same set once defaults are filled in (divisor defaults to 1) is a repeat too
    with pytest.raises(NotebookError, match="runs 2 and 3"):
        run_grid(fixture_nb, [{"label": "b"}, {"label": "a"}, {"label": "a", "divisor": 1}], out)
    assert not out.exists()


def test_grid_names_carry_every_parameter_that_varies() -> None:
    defaults = notebook_parameters(FIXTURE)
    quarters = [{"label": "q", "divisor": d} for d in (1, 2)]  # 1 is the default: still named
    assert run_names(FIXTURE, quarters, defaults) == [
        "runner_fixture__divisor-1__label-q.ipynb",
        "runner_fixture__divisor-2__label-q.ipynb",
    ]
    # distinct sets whose names would coincide (same last path component) stay apart
    paths = run_names(FIXTURE, [{"label": "/a/extract"}, {"label": "/b/extract"}], defaults)
    assert len(set(paths)) == 2
    assert all(n.startswith("runner_fixture__label-extract__") for n in paths)


# --------------------------------------------------------------------------- CLI


def test_cli_run_grid_exit_code_and_summary(fixture_nb: Path, tmp_path: Path) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text("- label: alpha\n- label: broken\n  fail: true\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["run", str(fixture_nb), "--grid", str(grid), "-p", "divisor=2", "-o", str(out)]
    )
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "1 of 2 runs failed" in text
    assert "failed in cell 3 ('if fail:'): RuntimeError: deliberate failure for broken" in text
    produced = sorted(p.name for p in out.glob("*.ipynb"))
    assert produced == [
        "runner_fixture__divisor-2__fail-False__label-alpha.ipynb",
        "runner_fixture__divisor-2__fail-True__label-broken.ipynb",
    ]
    assert "alpha: 5.0" in _outputs_text(out / produced[0])


def test_cli_run_bad_parameter_is_a_user_error(fixture_nb: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(fixture_nb), "-p", "divisor=abc", "-o", str(out)])
    assert result.exit_code == 1
    assert "parameter 'divisor' expects int" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not out.exists()


def test_cli_grid_must_be_a_list(fixture_nb: Path, tmp_path: Path) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text(json.dumps({"label": "x"}), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["run", str(fixture_nb), "--grid", str(grid), "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert "expected a list of parameter sets" in " ".join(result.output.split())


# --------------------------------------------------------------------------- Databricks


class _FakeWidgets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = dict(values)
        self.created: list[tuple[str, str]] = []

    def text(self, name: str, default: str) -> None:
        self.created.append((name, default))
        self.values.setdefault(name, default)

    def get(self, name: str) -> str:
        if name not in self.values:
            raise KeyError(f"No input widget named {name} is defined")
        return self.values[name]


class _FakeDbutils:
    def __init__(self, values: dict[str, str]) -> None:
        self.widgets = _FakeWidgets(values)


def test_databricks_widgets_typed_from_defaults() -> None:
    dbutils = _FakeDbutils({"months": "6", "provider": "R1A", "nhs": "false", "rate": ""})
    defaults = {"months": 3, "provider": "", "nhs": True, "rate": 0.5, "extract": "x"}
    got = databricks_widgets(defaults, dbutils=dbutils)
    assert got == {"months": 6, "provider": "R1A", "nhs": False, "rate": 0.5, "extract": "x"}
    assert dbutils.widgets.created == [("extract", "x")]


def test_databricks_widgets_noop_outside_databricks() -> None:
    defaults = {"months": 3}
    assert databricks_widgets(defaults) == {"months": 3}


def test_databricks_widget_bad_value() -> None:
    with pytest.raises(NotebookError, match="parameter 'months' expects int"):
        databricks_widgets({"months": 3}, dbutils=_FakeDbutils({"months": "six"}))


def test_unknown_kernel_is_isolated_with_a_hint(fixture_nb: Path, tmp_path: Path) -> None:
    summary = run_grid(fixture_nb, [{"label": "k"}], tmp_path / "out", kernel_name="no-such-kernel")
    assert summary.results[0].status == "failed"
    assert "NoSuchKernel" in summary.results[0].error
    assert "ipykernel install" in summary.results[0].error


# --------------------------------------------------------------------------- kernels

FLAKY_KERNEL = """
import os, sys
count = os.path.join(os.environ["FLAKY_DIR"], "starts")
n = int(open(count).read()) if os.path.exists(count) else 0
open(count, "w").write(str(n + 1))
if n < int(os.environ["FLAKY_FAILURES"]):
    sys.exit(1)  # dies before replying to kernel_info, like the kernel lost in a --workers 2 grid
from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""


@pytest.fixture
def flaky_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A kernel spec whose first FLAKY_FAILURES starts die at once, then start normally."""
    import sys

    spec = tmp_path / "jupyter" / "kernels" / "flaky"
    spec.mkdir(parents=True)
    (tmp_path / "flaky.py").write_text(FLAKY_KERNEL, encoding="utf-8")
    argv = [sys.executable, str(tmp_path / "flaky.py"), "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "flaky", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("FLAKY_DIR", str(tmp_path))
    return tmp_path


@pytest.mark.slow
def test_kernel_start_failure_is_retried_and_logged(
    fixture_nb: Path, tmp_path: Path, flaky_kernel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLAKY_FAILURES", "1")
    summary = run_grid(fixture_nb, [{"label": "r"}], tmp_path / "out", kernel_name="flaky")
    result = summary.results[0]
    assert result.status == "ok", result.error
    assert result.attempts == 2
    assert len(result.retries) == 1
    assert "Kernel died" in result.retries[0] or "kernel" in result.retries[0].lower()
    assert "r: 10.0" in _outputs_text(result.output)
    assert (flaky_kernel / "starts").read_text() == "2"


@pytest.mark.slow
def test_kernel_that_never_starts_fails_after_bounded_retries(
    fixture_nb: Path, tmp_path: Path, flaky_kernel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLAKY_FAILURES", "99")
    summary = run_grid(fixture_nb, [{"label": "r"}], tmp_path / "out", kernel_name="flaky")
    result = summary.results[0]
    assert result.status == "failed"
    assert result.attempts == KERNEL_START_ATTEMPTS
    assert f"the kernel failed to start {KERNEL_START_ATTEMPTS} times" in result.error
    assert (flaky_kernel / "starts").read_text() == str(KERNEL_START_ATTEMPTS)


def test_cell_failures_are_not_retried(fixture_nb: Path, tmp_path: Path) -> None:
    summary = run_grid(fixture_nb, [{"label": "x", "fail": True}], tmp_path / "out")
    assert summary.results[0].attempts == 1
    assert summary.results[0].retries == ()


def test_kernels_use_ipc_on_posix() -> None:
    import os

    from iaptkit.notebooks.runner import kernel_transport

    assert kernel_transport() == ("ipc" if os.name == "posix" else "tcp")


def _no_network_available() -> bool:
    import shutil as sh
    import subprocess

    if sh.which("unshare") is None:
        return False
    return (
        subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False).returncode == 0
    )


@pytest.mark.slow
@pytest.mark.skipif(
    not _no_network_available(), reason="needs `unshare -n` (root or user namespaces)"
)
def test_notebook_runs_with_no_network_at_all(fixture_nb: Path, tmp_path: Path) -> None:
    """`unshare -n`: no interface is up, not even loopback; the kernel talks over IPC."""
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    started = time.perf_counter()
    done = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "iaptkit", "run", str(fixture_nb),
         "-p", "label=offline", "-p", "divisor=5", "-o", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert time.perf_counter() - started < 50  # not the 60 s kernel timeout
    assert "offline: 2.0" in _outputs_text(out / "runner_fixture__divisor-5__label-offline.ipynb")


def test_shipped_quarter_grid_runs_and_outputs_never_collide() -> None:
    """The quarter grid: four executed notebooks and four sets of output names, all distinct."""
    from iaptkit.notebooks.context import setup_notebook

    grids = Path(__file__).parents[2] / "notebooks" / "grids"
    notebook = grids.parent / "02_outcomes_report.ipynb"
    quarters = [
        validate_parameters(notebook, q, from_text=True)
        for q in read_grid(grids / "outcomes_by_quarter.yaml")
    ]
    names = run_names(notebook, quarters, notebook_parameters(notebook))
    assert names[0] == "02_outcomes_report__end-2023-06-30__start-2023-04-01.ipynb"
    assert names[3] == "02_outcomes_report__end-2024-03-31__start-2024-01-01.ipynb"
    base = {**notebook_parameters(notebook), "extract": "x/extract"}
    suffixes = [setup_notebook("02", {**base, **q}).suffix() for q in quarters]
    assert suffixes == [
        "_20230401_20230630", "_20230701_20230930", "_20231001_20231231", "_20240101_20240331"
    ]  # fmt: skip

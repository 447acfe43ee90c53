"""Charts and derived rates come from the published values of protected tables only."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from iaptkit.charts import palette, plots
from iaptkit.charts.plots import bar_chart, funnel_plot, line_chart
from iaptkit.charts.published import protected_rates, published_counts
from iaptkit.errors import ConfigError
from iaptkit.sdc import protect


class FakeTable:
    """The analyst view of a protected table, from its export as given ("*" = suppressed)."""

    def __init__(self, dims: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
        self.dims = dims
        self._long = pd.DataFrame(rows, columns=[*dims, "value"])

    def published(self) -> pd.DataFrame:
        hidden = self._long["value"] == "*"
        return self._long.assign(
            value=pd.array(
                [None if h else int(v) for h, v in zip(hidden, self._long["value"], strict=True)],
                dtype="Int64",
            ),
            status=np.where(hidden, "suppressed", "published"),
            policy_id="test",
            policy_version="1",
        )


def _wilson(x: float, n: float, z: float = 1.959963984540054) -> tuple[float, float]:
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return 100 * (centre - half), 100 * (centre + half)


@pytest.fixture
def outcome_table() -> FakeTable:
    return FakeTable(
        ("provider", "outcome"),
        [
            ("A", "recovered", "60"),
            ("A", "not recovered", "40"),
            ("A", "Total", "100"),
            ("B", "recovered", "*"),
            ("B", "not recovered", "*"),
            ("B", "Total", "20"),
            ("C", "recovered", "0"),
            ("C", "not recovered", "0"),
            ("C", "Total", "0"),
            ("Total", "recovered", "65"),
            ("Total", "not recovered", "55"),
            ("Total", "Total", "120"),
        ],
    )


def test_rates_from_published_counts_with_wilson(outcome_table: FakeTable) -> None:
    rates = protected_rates(
        outcome_table, group="provider", category="outcome", numerator="recovered"
    ).set_index("provider")
    assert rates.loc["A", "rate"] == pytest.approx(60.0)
    lo, hi = _wilson(60, 100)
    assert rates.loc["A", "ci_lower"] == pytest.approx(lo)
    assert rates.loc["A", "ci_upper"] == pytest.approx(hi)
    assert rates.loc["A", "display"] == "60.0"
    assert rates.loc["B", "display"] == "*"  # numerator suppressed
    assert np.isnan(rates.loc["B", "rate"])
    assert rates.loc["C", "display"] == "*"  # zero denominator: missing, not zero
    assert rates.loc["Total", "rate"] == pytest.approx(100 * 65 / 120)


def test_rate_with_summed_denominator(outcome_table: FakeTable) -> None:
    rates = protected_rates(
        outcome_table,
        group="provider",
        category="outcome",
        numerator="recovered",
        denominator=["recovered", "not recovered"],
    ).set_index("provider")
    assert rates.loc["Total", "denominator"] == 120
    assert rates.loc["B", "display"] == "*"  # a suppressed part makes the denominator unknown


def test_charts_show_published_not_true_values() -> None:
    data = pd.DataFrame({"provider": ["A", "B", "C"], "n": [13, 4, 22]})
    pt = protect(data, ["provider"], "n", policy="nhs-sde", name="t")
    counts = published_counts(pt).set_index("provider")
    # nhs-sde: under 10 suppressed, others to the nearest 5 (13 -> 15, 22 -> 20)
    assert counts.loc["A", "count"] == 15
    assert np.isnan(counts.loc["B", "count"])
    assert counts.loc["C", "count"] == 20
    fig = bar_chart(pt, "provider", order=["A", "B", "C"])
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [15.0, 0.0, 20.0]
    assert [t.get_text() for t in fig.axes[0].texts] == ["*"]
    assert "Total" not in [t.get_text() for t in fig.axes[0].get_xticklabels()]


def test_line_chart_gaps_where_suppressed() -> None:
    table = FakeTable(("month",), [("2023-04", "15"), ("2023-05", "*"), ("2023-06", "25")])
    y = line_chart(table, "month").axes[0].lines[0].get_ydata()
    assert y[0] == 15.0
    assert np.isnan(y[1])
    assert y[2] == 25.0


def test_funnel_plot_points_and_limits(outcome_table: FakeTable) -> None:
    rates = protected_rates(
        outcome_table, group="provider", category="outcome", numerator="recovered"
    )
    units = rates.loc[rates["provider"] != "Total"]
    fig = funnel_plot(units, label="provider", target=54.0)
    ax = fig.axes[0]
    points = ax.collections[0].get_offsets()
    assert points.tolist() == [[100.0, 60.0]]  # B and C suppressed: not plotted
    assert len(ax.lines) == 5  # two limit pairs and the target line
    lower95, upper95 = ax.lines[0], ax.lines[1]
    assert np.isfinite(lower95.get_ydata()).all()
    assert np.isfinite(upper95.get_ydata()).all()
    at_100 = list(lower95.get_xdata()).index(100.0)
    # normal approximation as an independent check of the exact limits' width at n = 100
    half = 1.96 * math.sqrt(0.54 * 0.46 / 100) * 100
    assert lower95.get_ydata()[at_100] == pytest.approx(54.0 - half, abs=1.5)
    assert upper95.get_ydata()[at_100] == pytest.approx(54.0 + half, abs=1.5)
    assert [t.get_text() for t in ax.texts] == ["A"]


def test_bar_chart_rejects_extra_dims(outcome_table: FakeTable) -> None:
    with pytest.raises(ValueError, match="extra dims"):
        bar_chart(outcome_table, "provider")


def test_true_counts_are_refused() -> None:
    counts = pd.DataFrame({"provider": ["A", "B"], "n": [13, 4]})
    for chart in (plots.bar_chart, plots.line_chart):
        with pytest.raises(ConfigError, match=r"protected tables only: .*found DataFrame"):
            chart(counts, "provider")


def test_charts_use_the_palette() -> None:
    table = FakeTable(("provider",), [("A", "15"), ("B", "*"), ("Total", "20")])
    ax = bar_chart(table, "provider").axes[0]
    assert {to_hex(p.get_facecolor()) for p in ax.patches} == {palette.PUBLISHED}
    assert [to_hex(t.get_color()) for t in ax.texts] == [palette.SUPPRESSED]
    two = FakeTable(
        ("provider", "sex"),
        [("A", "F", "15"), ("A", "M", "20"), ("B", "F", "*"), ("B", "M", "10")],
    )
    ax = bar_chart(two, "provider", "sex").axes[0]
    assert [to_hex(p.get_facecolor()) for p in ax.patches] == [
        *[palette.SERIES[0]] * 2,
        *[palette.SERIES[1]] * 2,
    ]
    assert [p.get_height() for p in ax.patches] == [15.0, 0.0, 20.0, 10.0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["F", "M"]
    star = ax.texts[0]
    suppressed_bar = ax.patches[1]  # B, F
    assert star.get_position()[0] == pytest.approx(
        suppressed_bar.get_x() + suppressed_bar.get_width() / 2
    )


def test_palette_is_one_immutable_source() -> None:
    assert set(palette.CELL_FILL) == set(palette.CELL_STATES) == set(palette.CELL_TEXT)
    with pytest.raises(TypeError):
        palette.CELL_FILL["suppressed"] = "#000000"  # type: ignore[index]
    css = palette.css_variables()
    assert "--iaptkit-cell-structural-zero: #e3e3e3;" in css
    assert "--iaptkit-status-review-accent: #ffb81c;" in css


def test_plotted_values_equal_the_published_values() -> None:
    months = [f"2023-{m:02d}" for m in range(4, 10)]
    df = pd.DataFrame({"month": months, "n": [120, 4, 233, 57, 90, 11]})
    pt = protect(df, ["month"], "n", policy="nhs-sde", name="trend")
    pub = pt.published().query("month != 'Total'")
    line = line_chart(pt, "month").axes[0].lines[0].get_ydata()
    expected = pub["value"].astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    np.testing.assert_array_equal(np.asarray(line, dtype="float64"), expected)
    bars = bar_chart(pt, "month").axes[0]
    heights = [p.get_height() for p in bars.patches]
    assert heights == [0.0 if pd.isna(v) else float(v) for v in pub["value"]]
    stars = [t.get_text() for t in bars.texts]
    assert stars.count("*") == int((pub["status"] == "suppressed").sum())


def test_gap_chart_draws_the_published_rates_in_decile_order() -> None:
    rows = []
    for decile, (rec, notrec) in {"10": (60, 40), "2": (30, 70), "1": (25, 75)}.items():
        rows += [(decile, "recovered", rec), (decile, "not recovered", notrec)]
    df = pd.DataFrame(rows, columns=["imd_decile", "outcome", "n"])
    pt = protect(df, ["imd_decile", "outcome"], "n", policy="nhs-sde")
    rates = protected_rates(pt, group="imd_decile", category="outcome", numerator="recovered")
    fig = plots.gap_chart(rates, label="imd_decile")
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["1", "2", "10"]
    ys = ax.collections[0].get_offsets()[:, 1].tolist()
    by = rates.set_index(rates["imd_decile"].astype(str))["rate"]
    assert ys == [by["1"], by["2"], by["10"]]
    assert fig._repr_png_()[:4] == b"\x89PNG"


def test_charts_follow_the_order_of_ordered_groups_and_skip_margins() -> None:
    df = pd.DataFrame(
        [(d, s, 20 + 5 * i) for i, d in enumerate(["10", "2", "1"]) for s in ("F", "M")],
        columns=["imd_decile", "sex", "n"],
    )
    pt = protect(df, ["imd_decile", "sex"], "n", policy="nhs-sde")
    ax = bar_chart(pt, "imd_decile", "sex").axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "10"]
    lines = line_chart(pt, "imd_decile", "sex").axes[0]
    assert [ln.get_label() for ln in lines.lines] == ["F", "M"]  # no empty "Total" line
    assert list(lines.lines[0].get_xdata()) == ["1", "2", "10"]

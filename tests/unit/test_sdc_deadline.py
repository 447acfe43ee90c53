"""The timeout is honoured inside the hypercube pass and inside the audit (issue 15).

A fake clock stands still until a chosen stage reports progress, then jumps past any deadline:
the deadline is then seen *within* that stage, deterministically, on any machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from iaptkit.sdc import protect
from iaptkit.sdc.protected import ProtectedTable

# 4 x 5 with margins: 30 cells, several small ones in different rows and columns
FRAME = pd.DataFrame(
    {
        "r": [r for r in "abcd" for _ in range(5)],
        "c": list("vwxyz") * 4,
        "n": [3, 40, 55, 30, 60, 70, 2, 25, 200, 41, 35, 47, 5, 90, 66, 80, 52, 61, 4, 33],
    }
)


class JumpClock:
    """``time.monotonic`` that stands at 0 until ``jump`` is called, then at 1e9."""

    def __init__(self) -> None:
        self.now = 0.0
        self.seen: list[tuple[str, int, int]] = []

    def __call__(self) -> float:
        return self.now

    def progress_jumping_at(
        self, stage: str, after: int, to: float = 1e9
    ) -> Callable[[str, int, int], None]:
        """A progress callback that makes the clock jump to ``to`` at ``stage``'s call
        ``done >= after``."""

        def progress(s: str, done: int, total: int) -> None:
            self.seen.append((s, done, total))
            if s == stage and done >= after:
                self.now = max(self.now, to)

        return progress


def _assert_fallback_safe(pt: ProtectedTable) -> None:
    """The always-safe fallback: every cell hidden, the audit passed, every primary wide."""
    assert pt.info_loss["timed_out"] == 1.0
    assert pt.info_loss["fallback"] == 1.0
    assert pt.certificate.passed
    cells = pt.cells
    assert (cells["display"] == "*").all()
    assert cells["published"].isna().all() or (cells["status"] != "published").all()
    assert int(pt.info_loss["suppressed_primary"] + pt.info_loss["suppressed_secondary"]) == len(
        cells
    )
    widths = [iv.upper - iv.lower for iv in pt.certificate.intervals if iv.is_primary]
    assert len(widths) == int((FRAME["n"] < 10).sum())
    assert min(widths) >= 10


def test_deadline_inside_the_hypercube_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = JumpClock()
    monkeypatch.setattr(time, "monotonic", clock)
    progress = clock.progress_jumping_at("hypercube", 1)  # after the first primary
    pt = protect(
        FRAME, ["r", "c"], "n", policy="sdap", secondary="hypercube", timeout=100.0,
        progress=progress,
    )  # fmt: skip
    hyp = [d for s, d, _ in clock.seen if s == "hypercube"]
    assert hyp[-1] == 1  # stopped within the pass, at the primary where the clock jumped
    assert "audit" in {s for s, _, _ in clock.seen}  # the fallback was still audited
    _assert_fallback_safe(pt)


def test_search_deadline_with_audit_time_left_keeps_a_completed_safe_pattern(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the clock passes the search's share (60 of 100 s) after the first primary, and the
    # audit still has time: the cells left get their chains (row, column and grand totals)
    # suppressed, and that pattern is published, not every cell
    clock = JumpClock()
    monkeypatch.setattr(time, "monotonic", clock)
    pt = protect(
        FRAME, ["r", "c"], "n", policy="sdap", secondary="hypercube", timeout=100.0,
        progress=clock.progress_jumping_at("hypercube", 1, to=70.0),
    )  # fmt: skip
    assert [d for s, d, _ in clock.seen if s == "hypercube"][-1] == 1
    assert pt.info_loss["timed_out"] == 1.0
    assert pt.info_loss["fallback"] == 0.0
    assert pt.certificate.passed
    cells = pt.cells
    hidden = cells[cells["display"] == "*"]
    assert set(hidden["value"][hidden["value"] < 10]) == {3, 2, 5, 4}  # every primary
    assert 4 < len(hidden) < len(cells)  # secondary cells, but not every cell
    shown = cells[cells["display"] != "*"]
    assert (shown["published"].to_numpy() == shown["value"].to_numpy()).all()
    assert (shown["value"].to_numpy() >= 10).all()
    # the published intervals: every primary at least the policy's width (10)
    widths = [iv.upper - iv.lower for iv in pt.certificate.intervals if iv.is_primary]
    assert len(widths) == 4
    assert min(widths) >= 10


def test_deadline_inside_the_audit_gives_the_audited_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = JumpClock()
    monkeypatch.setattr(time, "monotonic", clock)
    # the search finishes (the clock stands still); the audit of its pattern is cut at once
    pt = protect(
        FRAME, ["r", "c"], "n", policy="sdap", secondary="hypercube", timeout=100.0,
        progress=clock.progress_jumping_at("audit", 0),
    )  # fmt: skip
    _assert_fallback_safe(pt)


def test_audit_in_time_keeps_the_searched_pattern(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = JumpClock()
    monkeypatch.setattr(time, "monotonic", clock)
    pt = protect(FRAME, ["r", "c"], "n", policy="sdap", secondary="hypercube", timeout=100.0)
    ref = protect(FRAME, ["r", "c"], "n", policy="sdap", secondary="hypercube")
    assert pt.info_loss["timed_out"] == 0.0
    assert pt.published_long().equals(ref.published_long())
    shown = pt.cells[pt.cells["status"] == "published"]
    assert len(shown) > 0
    # published counts are the true ones (sdap rounds nothing) and never small
    assert (shown["published"].to_numpy() == shown["value"].to_numpy()).all()
    assert (shown["value"].to_numpy() >= 10).all()


def test_deadline_inside_a_large_audit_is_seen_per_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit reports progress (and so checks the deadline) while it proves cells."""
    clock = JumpClock()
    monkeypatch.setattr(time, "monotonic", clock)
    rng = np.random.default_rng(7)
    big = pd.DataFrame(
        {
            "r": np.repeat([f"r{i:02d}" for i in range(12)], 12),
            "c": [f"c{j:02d}" for j in range(12)] * 12,
            "n": rng.integers(0, 60, size=144),
        }
    )
    progress = clock.progress_jumping_at("audit", 3)
    pt = protect(
        big, ["r", "c"], "n", policy="nhs-sde", secondary="hypercube", timeout=100.0,
        progress=progress,
    )  # fmt: skip
    audits = [(d, t) for s, d, t in clock.seen if s == "audit"]
    assert any(d == 3 and t > 3 for d, t in audits)  # cut mid-audit, not between steps
    assert pt.info_loss["fallback"] == 1.0
    assert pt.certificate.passed
    assert (pt.cells["display"] == "*").all()

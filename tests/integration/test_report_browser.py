"""The release report opened in real headless Chromium: outputs, statuses, highlighted cells.

Needs a chromium binary (Debian: ``apt-get install -y chromium``); skips with that reason only
when none is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from iaptkit.release import Release, build
from iaptkit.sdc import protect

CHROMIUM = next(
    (p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p),
    None,
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary (install the Debian package 'chromium')"
)

COUNTS = pd.DataFrame(
    [
        ("R1A", "recovered", 4), ("R1A", "not_recovered", 35271),
        ("R2B", "recovered", 41893), ("R2B", "not_recovered", 52617),
        ("R3C", "recovered", 38462), ("R3C", "not_recovered", 29354),
    ],
    columns=["provider", "outcome", "n"],
)  # fmt: skip
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp / 'profile'}",
    ]
    return subprocess.run(
        [str(CHROMIUM), *flags, *args], capture_output=True, text=True, timeout=120, check=False
    )


class _Dom(HTMLParser):
    """Sections (uid -> status) and table cells (classes, text) from the rendered DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, dict[str, str]] = {}
        self.cells: list[tuple[str, str, str]] = []  # (section uid, class, text)
        self._uid = ""
        self._td: tuple[str, list[str]] | None = None
        self.images = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "section" and "data-uid" in a:
            self._uid = a["data-uid"]
            self.sections[self._uid] = a
        elif tag == "td":
            self._td = (a.get("class", ""), [])
        elif tag == "img" and a.get("src", "").startswith("data:image/png;base64,"):
            self.images += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._td is not None:
            self.cells.append((self._uid, self._td[0], "".join(self._td[1]).strip()))
            self._td = None

    def handle_data(self, data: str) -> None:
        if self._td is not None:
            self._td[1].append(data)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("browser")
    pt = protect(COUNTS, ["provider", "outcome"], "n", policy="nhs-sde", name="recovery",
                 population="finished treatment")  # fmt: skip
    rel = Release.open_or_create(root / "rel", title="Browser check", analyst="Ana")
    rel.add_table(pt, description="Recovery by provider", made_by="nb.ipynb")
    png = root / "bars.png"
    png.write_bytes(PNG)
    rel.add_figure(png, pt, name="bars", description="Bars", exception="Matches its table.")
    rel.add_figure(png, None, name="orphan", description="No data table")
    rel.add_text("Draft", name="draft")
    build(rel.path, root / "export")
    return root / "export" / "report.html", rel.path / "checker" / "report.html", pt.cells


def _dom(tmp: Path, page: Path) -> _Dom:
    done = _chromium(tmp, "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = _Dom()
    dom.feed(done.stdout)
    return dom


def test_export_report_in_chromium(built: tuple[Path, Path, pd.DataFrame], tmp_path: Path) -> None:
    export_page, _, cells = built
    shot = tmp_path / "report.png"
    done = _chromium(
        tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", export_page.as_uri()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 5000  # a real rendering, not an empty image

    dom = _dom(tmp_path, export_page)
    statuses = {uid: a["data-status"] for uid, a in dom.sections.items()}
    assert statuses == {"recovery": "pass", "bars": "review", "orphan": "fail", "draft": "review"}
    exported = {uid: a["data-exported"] for uid, a in dom.sections.items()}
    assert exported == {"recovery": "true", "bars": "true", "orphan": "false", "draft": "false"}
    # highlighted cells of the recovery table = the cells shown as * (primary and secondary alike)
    suppressed = [c for c in dom.cells if c[0] == "recovery" and "suppressed" in c[1].split()]
    n_hidden = int(cells["status"].isin(["primary", "secondary"]).sum())
    assert n_hidden >= 2
    assert len(suppressed) == n_hidden
    assert all(text == "*" for _, _, text in suppressed)
    assert not any({"primary", "secondary"} & set(c[1].split()) for c in dom.cells)
    assert dom.images == 1  # the exported figure only; the orphan's image is withheld


def test_checker_report_shows_truth_in_chromium(
    built: tuple[Path, Path, pd.DataFrame], tmp_path: Path
) -> None:
    _, checker_page, cells = built
    dom = _dom(tmp_path, checker_page)
    recovery = [c for c in dom.cells if c[0] == "recovery" and "suppressed" in c[1].split()]
    primaries = [c for c in recovery if "primary" in c[1].split()]
    assert len(primaries) == int((cells["status"] == "primary").sum())
    true_r1a = int(
        cells.loc[(cells["provider"] == "R1A") & (cells["outcome"] == "recovered"), "value"].iloc[0]
    )
    assert any(f"(true {true_r1a})" in text for _, _, text in primaries)
    assert dom.images == 2  # the checker sees every figure


class _Navigation(HTMLParser):
    """Ids, links, summary counts and legend rows of the rendered DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.index_links: list[str] = []
        self.review_links: list[str] = []
        self.counts: dict[str, int] = {}
        self.legend_rows = 0
        self.order: list[str] = []
        self._where: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
            if a["id"] in ("index", "review-items", "legend"):
                self._where.append(a["id"])
        if tag == "a" and a.get("href", "").startswith("#out-") and self._where:
            target = self.index_links if self._where[-1] == "index" else self.review_links
            target.append(a["href"][1:])
        if tag == "span" and "data-count" in a and "data-status" in a:
            self.counts[a["data-status"]] = int(a["data-count"])
        if tag == "tr" and self._where and self._where[-1] == "legend":
            self.legend_rows += 1
        if tag == "section" and "data-uid" in a:
            self.order.append(a["data-status"])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("nav", "div", "table") and self._where:
            self._where.pop()


@pytest.mark.parametrize("copy", ["export", "checker"])
def test_report_summary_index_and_legend_in_chromium(
    built: tuple[Path, Path, pd.DataFrame], tmp_path: Path, copy: str
) -> None:
    export_page, checker_page, _ = built
    page = export_page if copy == "export" else checker_page
    done = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    nav = _Navigation()
    nav.feed(done.stdout)
    rel = Release.open(checker_page.parents[1])
    register = {s: sum(o.status == s for o in rel.outputs) for s in ("pass", "review", "fail")}
    assert nav.counts == register == {"pass": 1, "review": 2, "fail": 1}
    # every output is reachable from the index, and every link lands on a section
    assert sorted(nav.index_links) == sorted(f"out-{o.uid}" for o in rel.outputs)
    assert set(nav.index_links) <= nav.ids
    # review items (fail and review) are listed in the summary and come first on the page
    assert sorted(nav.review_links) == sorted(
        f"out-{o.uid}" for o in rel.outputs if o.status != "pass"
    )
    assert nav.order == sorted(nav.order, key=["fail", "review", "pass"].index)
    assert "legend" in nav.ids
    assert nav.legend_rows >= 6
    assert "exceptions" in nav.ids
    assert "Matches its table." in done.stdout
    # the report's colours are the palette's (the notebook display uses the same)
    from iaptkit.charts.palette import CELL_FILL

    assert f"--iaptkit-cell-suppressed: {CELL_FILL['suppressed']};" in page.read_text("utf-8")

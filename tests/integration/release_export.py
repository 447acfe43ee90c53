"""A small real release and its signed export for the seal, verify and peer-tool tests: a
protected table with suppressed cells, a figure with its protected data table, a text with an
exception and a draft that stays behind."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib
import pandas as pd

from iaptkit.release import Release, build
from iaptkit.release.signing import generate_key
from iaptkit.sdc import protect

matplotlib.use("Agg")

COUNTS = pd.DataFrame(
    [
        ("R1A", "recovered", 4), ("R1A", "not_recovered", 35271),
        ("R2B", "recovered", 41893), ("R2B", "not_recovered", 52617),
        ("R3C", "recovered", 38462), ("R3C", "not_recovered", 29354),
    ],
    columns=["provider", "outcome", "n"],
)  # fmt: skip
WAITS = pd.DataFrame({"wait_band": ["0-6 weeks", "6-18 weeks", "18+ weeks"], "n": [4120, 1385, 2]})


@dataclass(frozen=True)
class Built:
    release: Path
    export: Path
    key: Path
    extract: Path


def make_export(root: Path, *, name: str = "export") -> Built:
    """Build (signed) the export of a fresh release under ``root``."""
    extract = root / "secure" / "extract_2024q1"
    extract.mkdir(parents=True)
    params = {"extract": str(extract), "output_dir": str(root / "rel"), "start": "2024-04-01"}
    rel = Release.open_or_create(
        root / "rel", title="Q1", analyst="Ana", extract_fingerprint="ab12cd34ef56ab78cd90"
    )
    table = protect(COUNTS, ["provider", "outcome"], "n", policy="nhs-sde", name="recovery",
                    population=f"finished treatment ({extract})")  # fmt: skip
    rel.add_table(table, description="Recovery by provider", made_by="notebooks/02.ipynb",
                  parameters=params)  # fmt: skip
    waits = protect(WAITS, ["wait_band"], "n", policy="nhs-sde", name="waits")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar(["a", "b"], [1, 2])
    png = root / "waits.png"
    fig.savefig(png)
    plt.close(fig)
    rel.add_figure(png, waits, name="waits_chart", description="Waits",
                   exception="Bars match the protected table.", parameters=params)  # fmt: skip
    rel.add_text("Recovery rose.", name="finding", exception="Plain words, no numbers.")
    rel.add_text("Unchecked draft", name="draft")
    key, _ = generate_key(root / "keys" / "release-key.pem")
    build(rel.path, root / name, key=key)
    return Built(rel.path, root / name, key, extract)

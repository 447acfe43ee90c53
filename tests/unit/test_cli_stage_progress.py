"""The measures command's protection progress: each stage logged once as it starts, counts on
the status line only."""

from __future__ import annotations

from iaptkit.cli.commands_common import stage_progress


def test_each_stage_is_logged_when_it_starts_and_counted_on_the_status_line() -> None:
    said: list[tuple[str, bool]] = []

    def update(msg: str, log: bool = True) -> None:
        said.append((msg, log))

    progress = stage_progress(update, "Protecting", {"attack": "attacker pass", "audit": "audit"})
    for call in [("attack", 0, 3), ("attack", 2, 3), ("secondary", 5, 1), ("attack", 0, 1),
                 ("audit", 1, 1)]:  # fmt: skip
        progress(*call)
    assert said == [
        ("Protecting: attacker pass", True),
        ("Protecting: attacker pass 2/3", False),
        ("Protecting: secondary", True),  # a stage without a label keeps its name
        ("Protecting: attacker pass", True),
        ("Protecting: audit", True),
    ]

"""Synthetic IAPT v2.x extracts for tests, demos and benchmarks (never real data).

The generator models referrals, contacts and questionnaire scores calibrated to published
national figures, writes them in the input contract's layout, and can inject the faults real
extracts arrive with (:mod:`iaptkit.synth.faults`).
"""

from __future__ import annotations

from iaptkit.synth.generate import write_synthetic

__all__ = ["write_synthetic"]

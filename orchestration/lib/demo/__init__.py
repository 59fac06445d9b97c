"""Deterministic demo landing-zone generator (see orchestration/lib/demo_extracts.py)."""

from .config import PRESETS
from .core import GenerationSummary, generate
from .writer import DEFECT_KINDS, INFO_KINDS, QUARANTINED_KINDS

__all__ = ["DEFECT_KINDS", "INFO_KINDS", "PRESETS", "QUARANTINED_KINDS", "GenerationSummary", "generate"]

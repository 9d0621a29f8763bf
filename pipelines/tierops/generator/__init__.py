"""Synthetic multi-channel retail data for demos, tests and benchmarks (docs/landing-spec.md)."""

from tierops.generator.config import GenerationSummary, GeneratorConfig, Promotion
from tierops.generator.run import generate

__all__ = ["GenerationSummary", "GeneratorConfig", "Promotion", "generate"]

"""Ranking parameters, carried as one typed object from the settings to the search SQL."""

from __future__ import annotations

from dataclasses import dataclass

from pgsearch.config import Settings


@dataclass(frozen=True, slots=True)
class FusionParams:
    """Hybrid search: score = α·s' + (1 − α)·b', the semantic and BM25 scores min-max
    normalised over each ranking's best documents, with α = alpha_max − (alpha_max −
    alpha_min)·gap, where gap = (b₁ − b₂) / b₁ from the two best BM25 scores: a query whose best
    keyword match stands out leans on keywords, any other on the model (bench/fusion.py)."""

    alpha_max: float
    alpha_min: float

    @classmethod
    def from_settings(cls, settings: Settings) -> FusionParams:
        """The configured fusion (`PGSEARCH_HYBRID_*`)."""
        return cls(alpha_max=settings.hybrid_alpha_max, alpha_min=settings.hybrid_alpha_min)

    def keyword_led(self) -> FusionParams:
        """The fusion's keyword-leaning end for every query (α = alpha_min)."""
        return FusionParams(alpha_max=self.alpha_min, alpha_min=self.alpha_min)

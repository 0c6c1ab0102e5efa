"""Ranking parameters, carried as one typed object from the settings to the search SQL."""

from __future__ import annotations

from dataclasses import dataclass

from pgsearch.config import Settings


@dataclass(frozen=True, slots=True)
class FusionParams:
    """Hybrid search: score = Σ weight / (rrf_k + rank) over the semantic and keyword rankings."""

    semantic_weight: float
    keyword_weight: float
    rrf_k: int

    @classmethod
    def from_settings(cls, settings: Settings) -> FusionParams:
        """The configured fusion (`PGSEARCH_HYBRID_*`)."""
        return cls(
            semantic_weight=settings.hybrid_semantic_weight,
            keyword_weight=settings.hybrid_keyword_weight,
            rrf_k=settings.hybrid_rrf_k,
        )

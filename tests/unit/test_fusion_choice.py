"""Which fusion a hybrid query gets: an English-only model does not lead on CJK queries."""

from __future__ import annotations

from pgsearch.embedding.e5 import MODEL_NAME as E5
from pgsearch.embedding.minilm import MODEL_NAME as MINILM
from pgsearch.search.params import FusionParams
from pgsearch.services.search import fusion_for

CONFIGURED = FusionParams(alpha_max=0.9, alpha_min=0.2)
KEYWORD_LED = FusionParams(alpha_max=0.2, alpha_min=0.2)


def test_english_only_model_leans_on_keywords_for_cjk_queries() -> None:
    for query in ("데이터베이스 백업", "データベースの検索", "数据库搜索", "pg_dump 백업 방법"):
        assert fusion_for(query, MINILM, CONFIGURED) == KEYWORD_LED, query


def test_other_queries_keep_the_configured_fusion() -> None:
    assert fusion_for("database backup", MINILM, CONFIGURED) == CONFIGURED
    assert fusion_for("Sicherung der Datenbank", MINILM, CONFIGURED) == CONFIGURED
    # A multilingual model reads CJK text; a client's vector (no model) is the client's call.
    assert fusion_for("데이터베이스 백업", E5, CONFIGURED) == CONFIGURED
    assert fusion_for("데이터베이스 백업", None, CONFIGURED) == CONFIGURED

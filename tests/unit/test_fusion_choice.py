"""Which fusion a hybrid query gets: a model does not lead on a language it was not trained on."""

from __future__ import annotations

from collections.abc import Callable

from pgsearch.embedding import for_queries, get_embedder
from pgsearch.embedding.e5 import FUSION_ALPHAS as E5_FUSION
from pgsearch.embedding.e5 import MODEL_NAME as E5
from pgsearch.embedding.minilm import MODEL_NAME as MINILM
from pgsearch.search.params import FusionParams
from pgsearch.services.search import fusion_for

CONFIGURED = FusionParams(alpha_max=0.9, alpha_min=0.2)
KEYWORD_LED = FusionParams(alpha_max=0.2, alpha_min=0.2)
# Documents per language.
EN, FR = {"en": 10}, {"fr": 10}
EN_DE, EN_FR, EN_ES = {"en": 10, "de": 10}, {"en": 10, "fr": 10}, {"en": 10, "es": 10}


def test_english_only_model_leans_on_keywords_for_cjk_queries() -> None:
    for query in ("데이터베이스 백업", "データベースの検索", "数据库搜索", "pg_dump 백업 방법"):
        assert fusion_for(query, MINILM, CONFIGURED) == KEYWORD_LED, query
        # The script outweighs the language of the user's documents.
        assert fusion_for(query, MINILM, CONFIGURED, documents=EN) == KEYWORD_LED, query


def test_english_only_model_leans_on_keywords_for_other_languages() -> None:
    # The query's detected language, among those of the user's documents.
    got = fusion_for("Sicherung der Datenbank erstellen", MINILM, CONFIGURED, documents=EN_DE)
    assert got == KEYWORD_LED
    # Under the detector's confidence floor (where it answers English), its likeliest guess
    # among the user's languages: these are NAME lines of the German and Spanish sets.
    for query, documents in (
        ("Information zu Netzwerknamen", EN_DE),
        ("informa de un fallo en bash", EN_ES),
    ):
        assert fusion_for(query, MINILM, CONFIGURED, documents=documents) == KEYWORD_LED, query
    # Too short to detect: the language of the user's documents, or any of them.
    assert fusion_for("ls", MINILM, CONFIGURED, documents=FR) == KEYWORD_LED
    assert fusion_for("ls", MINILM, CONFIGURED, documents=FR | {"es": 5}) == KEYWORD_LED
    # A few English documents (under a tenth) do not make the collection English.
    assert fusion_for("ls", MINILM, CONFIGURED, documents=FR | {"en": 1}) == KEYWORD_LED
    # The user's language, and the request's first.
    assert fusion_for("ls", MINILM, CONFIGURED, user_language="de") == KEYWORD_LED
    assert fusion_for("database", MINILM, CONFIGURED, requested="es", documents=EN) == KEYWORD_LED


def test_other_queries_keep_the_configured_fusion() -> None:
    assert fusion_for("database backup", MINILM, CONFIGURED, documents=EN) == CONFIGURED
    assert fusion_for("ls", MINILM, CONFIGURED, documents=EN) == CONFIGURED
    got = fusion_for("how to back up the database", MINILM, CONFIGURED, documents=EN_DE)
    assert got == CONFIGURED
    # An unsure English query whose guesses name German after English (man page NAME lines).
    for query in (
        "overview of Linux capabilities",
        "Encode/decode data and print to standard output",
    ):
        assert fusion_for(query, MINILM, CONFIGURED, documents=EN_DE) == CONFIGURED, query
    # A query the detector reads as none of the user's languages may be in any of them (an
    # English Debian synopsis came out as a language no analyzer knows).
    kadmind = "MIT Kerberos master server (kadmind)"
    assert fusion_for(kadmind, MINILM, CONFIGURED, documents=EN_FR) == CONFIGURED
    got = fusion_for("Datenbank", MINILM, CONFIGURED, requested="en", documents=FR)
    assert got == CONFIGURED
    # No documents yet: nothing to go by.
    assert fusion_for("Sicherung der Datenbank", MINILM, CONFIGURED) == CONFIGURED
    # A multilingual model reads these languages; a client's vector (no model) is the client's call.
    assert fusion_for("데이터베이스 백업", E5, CONFIGURED) == CONFIGURED
    assert fusion_for("Sicherung", E5, CONFIGURED, documents={"de": 3}) == CONFIGURED
    assert fusion_for("데이터베이스 백업", None, CONFIGURED) == CONFIGURED


def test_a_model_brings_its_own_fusion(settings_env: Callable[..., None]) -> None:
    settings_env()
    assert E5_FUSION is not None
    own = FusionParams(*E5_FUSION)
    assert own != CONFIGURED
    # The name search passes is the query embedder's, the model's own.
    e5_name = for_queries(get_embedder("e5-multilingual")).name
    for query, documents in (("Sicherung der Datenbank", {"de": 3}), ("database backup", EN)):
        assert fusion_for(query, e5_name, None, documents=documents) == own, query
    # MiniLM keeps the configured fusion, and its keyword end for languages it does not know.
    assert fusion_for("database backup", MINILM, None, documents=EN) == CONFIGURED
    assert fusion_for("Sicherung der Datenbank", MINILM, None, documents={"de": 3}) == KEYWORD_LED
    # A client's vector, and a fusion the caller gives, are taken as they are.
    assert fusion_for("database backup", None, None, documents=EN) == CONFIGURED
    assert fusion_for("database backup", E5, CONFIGURED, documents=EN) == CONFIGURED


def test_the_operators_fusion_outranks_the_models(settings_env: Callable[..., None]) -> None:
    settings_env(PGSEARCH_HYBRID_ALPHA_MAX="0.8")
    assert fusion_for("database backup", E5, None, documents=EN) == FusionParams(0.8, 0.2)
    settings_env(PGSEARCH_HYBRID_ALPHA_MIN="0.3")
    assert fusion_for("Sicherung", E5, None, documents={"de": 3}) == FusionParams(0.8, 0.3)

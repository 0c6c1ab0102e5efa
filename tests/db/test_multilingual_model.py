"""The multilingual built-in model end to end: reembed into it, then search across languages."""

from __future__ import annotations

from sqlalchemy import select

from pgsearch import db
from pgsearch.config import DatabaseConfig
from pgsearch.embedding import for_queries, get_embedder
from pgsearch.evaluation import CorpusDoc
from pgsearch.evaluation.service import ingest
from pgsearch.models import IndexConfig
from pgsearch.schemas import SearchRequest
from pgsearch.services.index import reembed
from pgsearch.services.search import search

DOCS = [
    CorpusDoc("cat-de", "Die Katze schläft den ganzen Nachmittag auf dem Sofa im Wohnzimmer."),
    CorpusDoc("tax-de", "Das Finanzamt verlangt die Steuererklärung bis Ende Juli."),
    CorpusDoc("backup-ko", "데이터베이스 백업은 매일 밤 자정에 다른 서버로 복사됩니다."),
    CorpusDoc("cat-ko", "우리 고양이는 오후 내내 거실 소파 위에서 잠을 잡니다."),
    CorpusDoc("train-ja", "東京から大阪までの新幹線は約二時間半かかります。"),
    CorpusDoc("tax-ja", "確定申告の期限は毎年三月十五日です。"),
]


def test_reembed_into_e5_then_search_across_languages(pg_config: DatabaseConfig) -> None:
    minilm, e5 = get_embedder("minilm"), get_embedder("e5-multilingual")
    # Rolled back: the other tests share this database and its (MiniLM) model.
    with db.get_sessionmaker()() as session, session.begin() as transaction:
        uid = ingest(session, DOCS, minilm)
        assert reembed(session, e5) == len(DOCS)
        recorded = session.scalars(select(IndexConfig.embedding_model)).one()
        assert recorded == e5.name

        def top(query: str) -> str | None:
            response = search(
                session,
                user_id=uid,
                request=SearchRequest(query=query, mode="semantic", k=1),
                embedder=for_queries(e5),
            )
            return response.results[0].external_id

        # One collection, three languages; each query finds its document by meaning.
        assert top("반려묘가 어디서 낮잠을 자나요") == "cat-ko"
        assert top("서버 자료를 언제 복제하나요") == "backup-ko"
        assert top("Bis wann muss ich meine Steuern erklären?") == "tax-de"
        assert top("Wo ruht das Haustier?") == "cat-de"
        assert top("東京と大阪の間は列車で何時間ですか") == "train-ja"
        assert top("税金の申告はいつまでですか") == "tax-ja"
        transaction.rollback()

"""Keyword search per language: segmentation, stemming, mixed text, mixed collections, bad input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from pgsearch import db
from pgsearch.analysis import SUPPORTED, normalize
from pgsearch.models import Document
from pgsearch.repositories import documents as repo
from pgsearch.search.highlight import START, STOP
from pgsearch.services.reanalyze import reanalyze
from tests.db.test_bm25 import assert_statistics_exact
from tests.helpers import make_user, unit, vec_doc


def post(client: TestClient, uid: int, docs: dict[str, str], **extra: Any) -> list[dict[str, Any]]:
    """Store one document per (external id, text), each with its own vector."""
    body = {
        "documents": [
            vec_doc(t, unit(i), external_id=k, **extra) for i, (k, t) in enumerate(docs.items())
        ]
    }
    r = client.post(f"/users/{uid}/documents/batch", json=body)
    assert r.status_code == 200, r.text
    return list(r.json()["documents"])


def found(client: TestClient, uid: int, query: str, **extra: Any) -> list[str]:
    """External ids of a keyword search's results, best first."""
    body = {"query": query, "mode": "keyword", "k": 20, **extra}
    r = client.post(f"/users/{uid}/search", json=body)
    assert r.status_code == 200, r.text
    return [h["external_id"] for h in r.json()["results"]]


# -- segmentation (CJK) -------------------------------------------------------------------------


def test_korean_word_found_with_and_without_its_particle(client: TestClient) -> None:
    uid = make_user(client)
    post(
        client,
        uid,
        {
            "with-particle": "이 문서는 데이터베이스를 백업하는 방법을 설명합니다.",
            "bare": "데이터베이스 서버의 메모리 설정",
            "other": "웹 브라우저에서 파일을 내려받는 방법",
        },
    )
    assert sorted(found(client, uid, "데이터베이스")) == ["bare", "with-particle"]
    assert sorted(found(client, uid, "데이터베이스를")) == ["bare", "with-particle"]
    assert sorted(found(client, uid, "데이터베이스에서")) == ["bare", "with-particle"]
    assert found(client, uid, "브라우저가") == ["other"]


def test_japanese_compound_found_by_its_parts(client: TestClient) -> None:
    uid = make_user(client)
    post(client, uid, {"tocho": "東京都庁に行きました。", "other": "大阪の天気は晴れです。"})
    assert found(client, uid, "都庁") == ["tocho"]
    assert found(client, uid, "東京") == ["tocho"]
    # Inflected verb (行きました) by its dictionary form.
    assert found(client, uid, "行く") == ["tocho"]


def test_chinese_compound_found_by_its_parts(client: TestClient) -> None:
    uid = make_user(client)
    post(client, uid, {"prc": "中华人民共和国成立于1949年。", "other": "今天的天气很好。"})
    assert found(client, uid, "共和国") == ["prc"]
    assert found(client, uid, "人民") == ["prc"]
    assert found(client, uid, "中华人民共和国") == ["prc"]


# -- stemming (Snowball) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "doc", "query"),
    [
        ("de", "Die alten Häuser stehen am Fluss.", "Haus"),
        ("de", "Übungen machen den Meister.", "übung"),  # non-ASCII capital, C locale
        ("fr", "Les chevaux mangent de l’herbe.", "cheval herbe"),
        ("es", "Los niños están corriendo en el parque.", "correr"),
    ],
)
def test_stemming(client: TestClient, language: str, doc: str, query: str) -> None:
    uid = make_user(client)
    post(client, uid, {"doc": doc, "noise": "unrelated words entirely"}, language=language)
    assert found(client, uid, query) == ["doc"]


def test_an_unsure_document_takes_its_collections_language(client: TestClient) -> None:
    uid = make_user(client)
    spanish = "Los niños están corriendo en el parque con sus amigos del colegio."
    unsure = (
        "IPMI permite monitorizar y gestionar dispositivos de forma remota. "
        "Este paquete contiene la biblioteca en tiempo de ejecución."
    )
    docs = post(client, uid, {"sure": spanish, "unsure": unsure})
    assert [d["language"] for d in docs] == ["es", "es"]
    # Alone in a new collection it is taken for English, as before.
    other = make_user(client, "v")
    assert [d["language"] for d in post(client, other, {"unsure": unsure})] == ["en"]


def test_german_compound_found_by_its_parts(client: TestClient) -> None:
    uid = make_user(client)
    docs = {
        "compound": "Die Kernelbefehlszeile wird beim Systemstart gelesen.",
        "parts": "Die Befehlszeile des Kernels steht in der Dokumentation.",
        "other": "Die alten Häuser stehen am Fluss.",
    }
    post(client, uid, docs, language="de")
    assert sorted(found(client, uid, "Befehlszeile")) == ["compound", "parts"]
    assert sorted(found(client, uid, "Kernel-Befehlszeile")) == ["compound", "parts"]
    assert sorted(found(client, uid, "Kernelbefehlszeile")) == ["compound", "parts"]
    # The whole compound still counts as one: its exact form ranks first.
    assert found(client, uid, "Kernelbefehlszeile")[0] == "compound"


def test_european_languages_are_detected(client: TestClient) -> None:
    uid = make_user(client)
    docs = post(
        client,
        uid,
        {
            "de": "Die alten Häuser stehen seit vielen Jahren am Ufer des Flusses.",
            "fr": "Les chevaux mangent de l’herbe fraîche dans les prés au printemps.",
            "es": "Los niños están corriendo en el parque con sus amigos del colegio.",
        },
    )
    assert [d["language"] for d in docs] == ["de", "fr", "es"]
    assert found(client, uid, "Haus") == ["de"]
    assert found(client, uid, "correr") == ["es"]


# -- mixed text and mixed collections --------------------------------------------------------


def test_mixed_korean_and_english_document_matches_both_parts(client: TestClient) -> None:
    uid = make_user(client)
    docs = post(
        client,
        uid,
        {
            "note": "PostgreSQL은 running databases를 관리합니다. "
            "pg_search 인덱스를 만들고 검색한다.",
            "other": "오늘은 날씨가 좋아서 산책을 했습니다.",
        },
    )
    assert docs[0]["language"] == "ko"
    assert found(client, uid, "postgresql") == ["note"]
    assert found(client, uid, "run database") == ["note"]  # English stemming inside Korean
    assert found(client, uid, "pg_search") == ["note"]
    assert found(client, uid, "인덱스") == ["note"]
    assert found(client, uid, "검색") == ["note"]


def test_mixed_languages_in_one_collection_lose_no_document(client: TestClient) -> None:
    uid = make_user(client)
    corpus = {
        "en": "PostgreSQL stores the indexes of running databases.",
        "de": "PostgreSQL speichert die Indizes der laufenden Datenbanken.",
        "fr": "PostgreSQL enregistre les index des bases de données.",
        "ko": "PostgreSQL은 데이터베이스의 인덱스를 저장합니다.",
        "ja": "PostgreSQLはデータベースのインデックスを保存します。",
        "zh": "PostgreSQL保存数据库的索引。",
    }
    docs = post(client, uid, corpus)
    assert [d["language"] for d in docs] == list(corpus)
    # A word every document holds finds every document, whatever the query's language.
    assert sorted(found(client, uid, "PostgreSQL")) == sorted(corpus)
    # Each language's own words find its document (stemmed or segmented).
    assert found(client, uid, "database run") == ["en"]
    assert found(client, uid, "Datenbank") == ["de"]
    assert found(client, uid, "데이터베이스를") == ["ko"]
    assert found(client, uid, "データベース") == ["ja"]
    assert found(client, uid, "数据库") == ["zh"]
    assert_statistics_exact()
    # Hybrid search, too, returns every document holding the word.
    r = client.post(f"/users/{uid}/search", json={"query": "PostgreSQL", "k": 10})
    assert len(r.json()["results"]) == len(corpus)


def test_a_few_documents_in_another_language_do_not_read_every_query(
    client: TestClient,
) -> None:
    """A language with under a tenth of the user's documents analyses a query only when the
    query is in it: a few misdetected documents must not add their stemmer's lexemes (rare in
    the collection, so of the highest IDF) to every query and rise to the top."""
    uid = make_user(client)
    english = {f"en{i}": f"the service runs nightly job {i} and runs checks" for i in range(20)}
    post(client, uid, english, language="en")
    post(client, uid, {"odd": "it runs"}, language="simple")  # `runs`, not stemmed to `run`
    post(client, uid, {"de": "Alle Datenbanken"}, language="de")
    post(client, uid, {"ko": "데이터베이스 서버의 메모리 설정"}, language="ko")
    hits = found(client, uid, "runs")
    assert len(hits) == 20 and "odd" not in hits
    # Asked for, or written in it (a confident detection, a script), a minority language reads
    # the query too.
    assert "odd" in found(client, uid, "runs", language="simple")
    assert found(client, uid, "Welche Datenbanken werden jede Nacht gesichert?") == ["de"]
    assert found(client, uid, "데이터베이스를") == ["ko"]


def test_request_language_adds_an_analysis(client: TestClient) -> None:
    uid = make_user(client)
    post(client, uid, {"doc": "the runners kept running"}, language="simple")
    assert found(client, uid, "run") == []  # no stemming in `simple`
    post(client, uid, {"en": "the runners kept running"}, language="en")
    assert found(client, uid, "run") == ["en"]
    # The query analysed as German as well (no German documents): still everything matches.
    assert sorted(found(client, uid, "running", language="de")) == ["doc", "en"]


# -- where the language comes from -------------------------------------------------------------


def test_language_from_request_metadata_user_or_detection(client: TestClient) -> None:
    uid = client.post("/users", json={"name": "u", "language": "de"}).json()["id"]
    text_en = "The quick brown fox jumps over the lazy dog near the river bank."
    docs = post(client, uid, {"user-default": text_en})
    assert docs[0]["language"] == "de"
    docs = post(client, uid, {"metadata": text_en}, metadata={"lang": "fr-FR"})
    assert docs[0]["language"] == "fr"
    docs = post(client, uid, {"request": text_en}, metadata={"lang": "fr"}, language="es")
    assert docs[0]["language"] == "es"
    # A metadata value that names no language is the client's own: it is not an error.
    docs = post(client, uid, {"odd-metadata": text_en}, metadata={"language": "Klingon"})
    assert docs[0]["language"] == "de"
    r = client.patch(f"/users/{uid}", json={"language": None})
    assert r.status_code == 200 and r.json()["language"] is None
    docs = post(client, uid, {"detected": text_en})
    assert docs[0]["language"] == "en"
    r = client.patch(f"/users/{uid}", json={"language": "ko-KR"})
    assert r.json()["language"] == "ko"
    assert client.get(f"/users/{uid}").json()["language"] == "ko"


def test_changing_the_language_re_analyses_the_document(client: TestClient) -> None:
    uid = make_user(client)
    post(client, uid, {"doc": "Die alten Häuser"}, language="simple")
    assert found(client, uid, "Haus") == []
    post(client, uid, {"doc": "Die alten Häuser"}, language="de")
    assert found(client, uid, "Haus") == ["doc"]
    assert_statistics_exact()


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/users", {"name": "x", "language": "xx"}),
        ("patch", "/users/{uid}", {"language": "klingon"}),
        ("post", "/users/{uid}/documents", {"text": "hello", "language": "xx"}),
        ("post", "/users/{uid}/documents/batch", {"documents": [{"text": "a", "language": ""}]}),
        ("post", "/users/{uid}/search", {"query": "a", "language": "english"}),
        ("post", "/users/{uid}/search", {"query": "a", "language": 7}),
    ],
)
def test_unknown_language_is_a_422_listing_the_supported_ones(
    client: TestClient, method: str, path: str, body: dict[str, Any]
) -> None:
    uid = make_user(client)
    r = client.request(method, path.format(uid=uid), json=body)
    assert r.status_code == 422, r.text
    message = str(r.json()["detail"])
    if not isinstance(body.get("language", body.get("documents", [{}])[0].get("language")), int):
        assert "unknown language" in message and ", ".join(SUPPORTED) in message


def test_text_in_a_script_no_analyzer_knows_falls_back_to_simple(client: TestClient) -> None:
    uid = make_user(client)
    docs = post(
        client,
        uid,
        {
            "thai": "ภาษาไทย เป็นภาษาราชการของประเทศไทย",
            "symbols": "∑ ∫ √ → ≠ ≤ ≥ ∞",
            "digits": "12345 67890",
        },
    )
    assert [d["language"] for d in docs] == ["simple", "simple", "simple"]
    assert found(client, uid, "ภาษาไทย") == ["thai"]
    assert found(client, uid, "67890") == ["digits"]
    assert found(client, uid, "∞ →") == []  # nothing to match, and no error


def test_highlight_uses_the_documents_language(client: TestClient) -> None:
    uid = make_user(client)
    post(client, uid, {"de": "Die Datenbanken werden jede Nacht gesichert."}, language="de")
    body = {"query": "Datenbank", "mode": "keyword", "highlight": True}
    r = client.post(f"/users/{uid}/search", json=body)
    assert r.status_code == 200, r.text
    # The German stemmer makes `Datenbank` of `Datenbanken`; the English one does not.
    assert r.json()["results"][0]["highlight"] == (
        f"Die {START}Datenbanken{STOP} werden jede Nacht gesichert"
    )


def test_highlight_marks_a_compound_found_by_its_parts(client: TestClient) -> None:
    uid = make_user(client)
    text = "Die Kernelbefehlszeile wird beim Start gelesen."
    post(client, uid, {"de": text}, language="de")
    marked = f"Die {START}Kernelbefehlszeile{STOP} wird beim Start gelesen"
    for query in ("Befehlszeile", "Kernel-Befehlszeile", "Kernelbefehlszeile"):
        for mode in ("keyword", "semantic"):
            body = {"query": query, "mode": mode, "highlight": True}
            r = client.post(f"/users/{uid}/search", json=body)
            assert r.status_code == 200, r.text
            assert r.json()["results"][0]["highlight"] == marked, (query, mode)
    # A part alone marks only the compounds that hold it, not other words.
    body = {"query": "Zeile", "mode": "keyword", "highlight": True}
    assert client.post(f"/users/{uid}/search", json=body).json()["results"][0]["highlight"] == (
        marked
    )


def test_reanalyze_re_makes_the_lexemes_of_older_chunks(client: TestClient) -> None:
    uid = make_user(client)
    german = {
        "compound": "Die Kernelbefehlszeile wird gelesen.",
        "other": "Die alten Häuser stehen am Fluss.",
    }
    post(client, uid, german, language="de")
    post(client, uid, {"en": "The kernel command line is read at boot."}, language="en")
    # The German documents as stored before compounds were split: whole words only.
    with db.get_sessionmaker().begin() as session:
        docs = session.execute(
            select(Document.id, Document.text).where(Document.language == "de")
        ).all()
        older = [
            repo.ChunkRows(
                d.id, [d.text], np.array([unit(i)], dtype=np.float32), "german", [normalize(d.text)]
            )
            for i, d in enumerate(docs)
        ]
        repo.replace_chunks(session, uid, [d.id for d in docs], older)
    assert found(client, uid, "Befehlszeile") == []
    drift = "SELECT length::float8 / chunks / impact_avgdl FROM bm25_stats WHERE user_id = :u"
    with db.get_sessionmaker().begin() as session:
        # Impacts made with another average length: rewriting chunks re-makes them, as ingest.
        session.execute(text("UPDATE bm25_stats SET impact_avgdl = impact_avgdl * 2"))
        assert reanalyze(session, languages=["de"]) == 2
        assert session.scalar(text(drift), {"u": uid}) == pytest.approx(1.0, abs=0.1)
    assert found(client, uid, "Befehlszeile") == ["compound"]
    assert found(client, uid, "kernel command") == ["en", "compound"]
    assert_statistics_exact()

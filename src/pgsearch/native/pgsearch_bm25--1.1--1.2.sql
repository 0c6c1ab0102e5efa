\echo Use "ALTER EXTENSION pgsearch_bm25 UPDATE TO '1.2'" to load this file. \quit

CREATE FUNCTION bm25_top_docs(
    postings_index regclass, user_id integer, terms bigint[], weights double precision[],
    depths integer[], n integer, chunks_pkey regclass, lexemes text[],
    lexeme_weights double precision[], norm0 double precision, norm1 double precision,
    k integer, drift double precision)
RETURNS TABLE (chunk_id bigint, document_id bigint, score double precision,
               certified boolean)
AS 'MODULE_PATHNAME', 'bm25_top_docs'
LANGUAGE C STABLE PARALLEL SAFE ROWS 100;

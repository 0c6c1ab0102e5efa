\echo Use "CREATE EXTENSION pgsearch_bm25" to load this file. \quit

CREATE FUNCTION bm25_top_bounds(
    postings_index regclass, user_id integer, terms bigint[], weights double precision[],
    depths integer[], n integer)
RETURNS TABLE (chunk_id bigint, bound double precision, length integer, unseen double precision)
AS 'MODULE_PATHNAME', 'bm25_top_bounds'
LANGUAGE C STABLE PARALLEL SAFE ROWS 600;

CREATE FUNCTION bm25_score(
    tsv tsvector, lexemes text[], weights double precision[], norm0 double precision,
    norm1 double precision, length integer)
RETURNS double precision
AS 'MODULE_PATHNAME', 'bm25_score'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

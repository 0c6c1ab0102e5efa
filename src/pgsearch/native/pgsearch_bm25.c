/*
 * pgsearch_bm25: the first stage of pgsearch's BM25 top-k search in C.
 *
 * bm25_top_bounds reads the top postings of each query term from the impact-ordered postings
 * index (as an index-only scan would: the visibility map decides, the heap when it cannot),
 * bounds what every chunk read can score, and returns the n best bounds. It computes exactly
 * what the SQL form in pgsearch/search/bm25.py computes (top_k's bm25_bounds and bm25_top):
 *
 *   cutw(t)   = w(t) * impact of t's depth(t)-th posting when t has more postings, else 0
 *   unseen    = sum of cutw(t)
 *   bound(c)  = sum over the terms t whose top postings hold c of (w(t) * impact - cutw(t))
 *               + unseen
 *
 * The SQL form spends most of a keyword search in the executor (a nested loop of index-only
 * scans, a hash aggregate, a sort); this does the same reading with one hash table.
 *
 * bm25_score scores one chunk exactly from its tsvector, as top_k's bm25_exact does in SQL
 * (narrow the tsvector to the query's lexemes, turn it into (term, tf) rows, join, sum): a
 * binary search per query lexeme instead of copying and filtering the tsvector.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/itup.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/visibilitymap.h"
#include "catalog/index.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_class_d.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type_d.h"
#include "common/hashfn.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/predicate.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "tsearch/ts_type.h"
#include "tsearch/ts_utils.h"
#include "utils/tuplestore.h"

PG_MODULE_MAGIC;

typedef struct ChunkBound
{
	int64		chunk_id;
	double		sum;			/* sum of w * impact - cutw over the terms that hold it */
	int32		length;
} ChunkBound;

/* A chunk's place among the chunks read, by its id. */
typedef struct ChunkSlot
{
	int64		chunk_id;		/* hash key */
	int32		index;
	char		status;			/* simplehash's */
} ChunkSlot;

/*
 * An open-addressing hash table of chunk ids (a search may read 100k postings) to the chunks
 * read, which are kept side by side: the pass over them to pick the best bounds reads only
 * them, not the table's empty buckets.
 */
#define SH_PREFIX chunkhash
#define SH_ELEMENT_TYPE ChunkSlot
#define SH_KEY_TYPE int64
#define SH_KEY chunk_id
#define SH_HASH_KEY(tb, key) murmurhash64((uint64) (key))
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

typedef struct Posting
{
	int64		chunk_id;
	float4		impact;
	int32		length;
} Posting;

/*
 * The attribute number of a column of the index, by name, checked to be of `type`: the index
 * is an argument, and a column of another type read as this one would be misread (a
 * by-reference value as an integer, or an integer key compared as a pointer: a crash).
 */
static AttrNumber
index_attno(Relation index, const char *name, Oid type)
{
	TupleDesc	desc = RelationGetDescr(index);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, i);

		if (strcmp(NameStr(attr->attname), name) != 0)
			continue;
		if (attr->atttypid != type)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of index \"%s\" must be of type %s",
							name, RelationGetRelationName(index), format_type_be(type))));
		return (AttrNumber) (i + 1);
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("index \"%s\" has no column \"%s\"",
					RelationGetRelationName(index), name)));
	return InvalidAttrNumber;	/* not reached */
}

/*
 * Higher first, in float8's total order (NaN above every number, equal to itself), the
 * numbers compared inline: this runs for most chunks read.
 */
static inline int
score_desc(double x, double y)
{
	if (x > y)
		return -1;
	if (x < y)
		return 1;
	return x == y ? 0 : float8_cmp_internal(y, x);
}

/*
 * Highest bound first; ties by chunk id, as the SQL form orders them (float8's order: NaN
 * above every number and equal to itself, so that this is a total order).
 */
static inline int
bound_desc(const void *a, const void *b)
{
	const ChunkBound *x = (const ChunkBound *) a;
	const ChunkBound *y = (const ChunkBound *) b;
	int			cmp = score_desc(x->sum, y->sum);

	if (cmp != 0)
		return cmp;
	return (x->chunk_id > y->chunk_id) - (x->chunk_id < y->chunk_id);
}

/* A query's terms as bm25_top_bounds and bm25_top_k take them: three aligned arrays. */
typedef struct QueryTerms
{
	Datum	   *terms;
	Datum	   *weights;
	Datum	   *depths;
	int			count;
} QueryTerms;

/*
 * The terms, weights and depths arguments at `arg`, `arg` + 1 and `arg` + 2. False when one is
 * NULL (array_agg of no terms): nothing to read.
 */
static bool
query_terms(FunctionCallInfo fcinfo, int arg, QueryTerms *qt)
{
	bool	   *nulls;
	int			nweights,
				ndepths;

	for (int i = arg; i < arg + 3; i++)
		if (PG_ARGISNULL(i))
			return false;
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(arg), INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
					  TYPALIGN_DOUBLE, &qt->terms, &nulls, &qt->count);
	for (int i = 0; i < qt->count; i++)
		if (nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("terms must not hold NULL")));
	deconstruct_array_builtin(PG_GETARG_ARRAYTYPE_P(arg + 1), FLOAT8OID, &qt->weights, &nulls,
							  &nweights);
	for (int i = 0; i < nweights; i++)
		if (nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("weights must not hold NULL")));
	deconstruct_array_builtin(PG_GETARG_ARRAYTYPE_P(arg + 2), INT4OID, &qt->depths, &nulls,
							  &ndepths);
	for (int i = 0; i < ndepths; i++)
		if (nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("depths must not hold NULL")));
	if (nweights != qt->count || ndepths != qt->count)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("terms, weights and depths must have the same length")));
	return true;
}

/*
 * Open the btree `index_oid` and its heap table for reading below the executor, after the
 * checks a SELECT would make and those that keep the reading sound.
 */
static void
open_index(Oid index_oid, Relation *heap_out, Relation *index_out)
{
	Relation	heap;
	Relation	index;
	/* The table before its index, as PostgreSQL locks them: the other order can deadlock. */
	Oid			heap_oid = IndexGetRelation(index_oid, true);

	if (!OidIsValid(heap_oid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("relation %u is not an index", index_oid)));
	heap = table_open(heap_oid, AccessShareLock);
	index = index_open(index_oid, AccessShareLock);
	if (IndexGetRelation(index_oid, false) != heap_oid)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("index \"%s\" changed while it was opened",
						RelationGetRelationName(index))));
	/* A C function reads below the executor: check what a SELECT would. */
	if (pg_class_aclcheck(heap_oid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", RelationGetRelationName(heap))));
	if (check_enable_rls(heap_oid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table \"%s\" has row-level security for this user: its policies would not apply",
						RelationGetRelationName(heap))));
	if (index->rd_rel->relkind != RELKIND_INDEX || index->rd_rel->relam != BTREE_AM_OID)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a btree index", RelationGetRelationName(index))));
	/* The visibility map read below is the heap's. */
	if (heap->rd_rel->relam != HEAP_TABLE_AM_OID)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a heap table", RelationGetRelationName(heap))));
	/* An index the planner would not use (being built, partial) misses rows. */
	if (!index->rd_index->indisvalid || !index->rd_index->indisready)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("index \"%s\" is not valid", RelationGetRelationName(index))));
	/*
	 * Built over broken HOT chains, it holds a chain's newest values for its older versions
	 * too: only snapshots newer than it may read it (the planner's test).
	 */
	if (index->rd_index->indcheckxmin &&
		!TransactionIdPrecedes(HeapTupleHeaderGetXmin(index->rd_indextuple->t_data),
							   TransactionXmin))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("index \"%s\" is too new for this transaction's snapshot",
						RelationGetRelationName(index))));
	if (!heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("index \"%s\" is partial", RelationGetRelationName(index))));
	*heap_out = heap;
	*index_out = index;
}

/* As an index-only scan: one visible version per entry, as only an MVCC snapshot gives. */
static Snapshot
mvcc_snapshot(void)
{
	if (!ActiveSnapshotSet() || !IsMVCCSnapshot(GetActiveSnapshot()))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgsearch_bm25 needs an MVCC snapshot")));
	return GetActiveSnapshot();
}

/*
 * Read the top postings of each query term from the postings index `index_oid` and bound the
 * chunks read. Returns how many of the n best bounds are in *best (highest first); *unseen is
 * what a chunk read for no term can reach. best[i].sum + *unseen is chunk i's bound.
 */
static int
read_bounds(Oid index_oid, int32 user_id, const QueryTerms *qt, int32 n, ChunkBound **best_out,
			double *unseen_out)
{
	Relation	index;
	Relation	heap;
	AttrNumber	user_attno,
				term_attno,
				impact_attno,
				chunk_attno,
				length_attno;
	TupleTableSlot *slot;
	Snapshot	snapshot;
	Buffer		vmbuffer = InvalidBuffer;
	chunkhash_hash *chunks;
	double		unseen = 0.0;
	Posting    *read = NULL;
	int			read_size = 0;
	long		size;
	int			kept = 0;
	ChunkBound *best;
	ChunkBound *read_chunks;
	uint64		chunks_size;
	int			nchunks = 0;
	ChunkBound *entry;

	open_index(index_oid, &heap, &index);
	user_attno = index_attno(index, "user_id", INT4OID);
	term_attno = index_attno(index, "term", INT8OID);
	impact_attno = index_attno(index, "impact", FLOAT4OID);
	chunk_attno = index_attno(index, "chunk_id", INT8OID);
	length_attno = index_attno(index, "length", INT4OID);
	if (user_attno != 1 || term_attno != 2 || impact_attno != 3 ||
		IndexRelationGetNumberOfKeyAttributes(index) < 3 ||
		!(index->rd_indoption[2] & INDOPTION_DESC))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("index \"%s\" must start with (user_id, term, impact DESC)",
						RelationGetRelationName(index))));
	snapshot = mvcc_snapshot();

	/*
	 * Sized for every posting a distinct chunk (pgsearch asks no deeper than the lists):
	 * growing it rehashes every entry, and a larger one costs its zeroing. Capped: a depth may
	 * be far longer than its list.
	 */
	{
		uint64		expected = 0;

		for (int t = 0; t < qt->count; t++)
			expected += Max(DatumGetInt32(qt->depths[t]), 0);
		chunks_size = Max(Min(expected, (uint64) 1 << 18), 64);
		chunks = chunkhash_create(CurrentMemoryContext, (uint32) chunks_size, NULL);
		read_chunks = palloc(sizeof(ChunkBound) * chunks_size);
	}
	slot = table_slot_create(heap, NULL);

	for (int t = 0; t < qt->count; t++)
	{
		double		w = DatumGetFloat8(qt->weights[t]);
		int32		depth = DatumGetInt32(qt->depths[t]);
		int			count = 0;
		bool		more = false;
		double		cutw = 0.0;
		ScanKeyData keys[2];
		IndexScanDesc scan;
		ItemPointer tid;

		if (depth <= 0)
			continue;
		if (read == NULL)
		{
			read_size = Min(depth, 4096);
			read = palloc(sizeof(Posting) * read_size);
		}
		ScanKeyInit(&keys[0], user_attno, BTEqualStrategyNumber, F_INT4EQ,
					Int32GetDatum(user_id));
		ScanKeyInit(&keys[1], term_attno, BTEqualStrategyNumber, F_INT8EQ, qt->terms[t]);
		scan = index_beginscan(heap, index, snapshot, NULL, 2, 0);
		scan->xs_want_itup = true;
		index_rescan(scan, keys, 2, NULL, 0);
		while ((tid = index_getnext_tid(scan, ForwardScanDirection)) != NULL)
		{
			bool		isnull;
			IndexTuple	itup;

			CHECK_FOR_INTERRUPTS();
			/* What an index-only scan does: the heap decides unless the page is all visible. */
			if (VM_ALL_VISIBLE(heap, ItemPointerGetBlockNumber(tid), &vmbuffer))
			{
				/*
				 * Serializable reads: an entry read from the index alone locks its heap page
				 * (the tuple's xmin is unknown); a heap fetch locks the tuple it finds.
				 */
				PredicateLockPage(heap, ItemPointerGetBlockNumber(tid), snapshot);
			}
			else
			{
				if (!index_fetch_heap(scan, slot))
					continue;
				ExecClearTuple(slot);
			}
			if (count == depth)
			{
				more = true;
				break;
			}
			if (count == read_size)
			{
				/* grown as the list goes on: a depth may be far longer than the list */
				read_size = (int) Min((int64) read_size * 2, (int64) depth);
				read = repalloc_huge(read, sizeof(Posting) * read_size);
			}
			itup = scan->xs_itup;
			read[count].impact = DatumGetFloat4(index_getattr(itup, impact_attno,
															  scan->xs_itupdesc, &isnull));
			read[count].chunk_id = DatumGetInt64(index_getattr(itup, chunk_attno,
															   scan->xs_itupdesc, &isnull));
			read[count].length = DatumGetInt32(index_getattr(itup, length_attno,
															 scan->xs_itupdesc, &isnull));
			count++;
		}
		index_endscan(scan);
		if (more)
			cutw = w * read[count - 1].impact;
		unseen += cutw;
		for (int i = 0; i < count; i++)
		{
			bool		found;

			ChunkSlot  *slot_of = chunkhash_insert(chunks, read[i].chunk_id, &found);

			if (!found)
			{
				if ((uint64) nchunks == chunks_size)
				{
					chunks_size *= 2;
					read_chunks = repalloc_huge(read_chunks, sizeof(ChunkBound) * chunks_size);
				}
				slot_of->index = nchunks;
				entry = &read_chunks[nchunks++];
				entry->chunk_id = read[i].chunk_id;
				entry->sum = 0.0;
				entry->length = read[i].length;
			}
			else
				entry = &read_chunks[slot_of->index];
			/* as the SQL form sums it: w * impact (float4 widened) - cutw */
			entry->sum += w * read[i].impact - cutw;
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	if (BufferIsValid(vmbuffer))
		ReleaseBuffer(vmbuffer);
	/* Locked till the transaction ends, as the executor keeps what it read. */
	index_close(index, NoLock);
	table_close(heap, NoLock);

	/*
	 * The n best by a min-heap of n (its root the worst kept): one comparison for most entries,
	 * where sorting them all cost more than reading their postings at a million chunks.
	 */
	size = (long) nchunks;
	best = palloc(sizeof(ChunkBound) * Max(Min(size, (long) n), 1));
	for (int c = 0; c < nchunks; c++)
	{
		int			i;

		entry = &read_chunks[c];
		if (kept < n)
		{
			/* sift up: a parent is never better than its children */
			i = kept++;
			while (i > 0 && bound_desc(&best[(i - 1) / 2], entry) < 0)
			{
				best[i] = best[(i - 1) / 2];
				i = (i - 1) / 2;
			}
			best[i] = *entry;
			continue;
		}
		if (bound_desc(entry, &best[0]) >= 0)
			continue;			/* not better than the worst kept */
		/* replace the root and sift down */
		i = 0;
		for (;;)
		{
			int			child = 2 * i + 1;

			if (child >= kept)
				break;
			if (child + 1 < kept && bound_desc(&best[child + 1], &best[child]) > 0)
				child++;
			if (bound_desc(&best[child], entry) <= 0)
				break;
			best[i] = best[child];
			i = child;
		}
		best[i] = *entry;
	}
	qsort(best, kept, sizeof(ChunkBound), bound_desc);
	*best_out = best;
	*unseen_out = unseen;
	return kept;
}

PG_FUNCTION_INFO_V1(bm25_top_bounds);

/*
 * bm25_top_bounds(postings_index regclass, user_id int, terms bigint[], weights float8[],
 *                 depths int[], n int)
 *   RETURNS TABLE (chunk_id bigint, bound float8, length int, unseen float8)
 *
 * The n chunks of the highest bound, highest first; every row carries `unseen`.
 */
Datum
bm25_top_bounds(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	QueryTerms	qt;
	ChunkBound *best;
	double		unseen;
	int			kept;
	int32		n;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("postings index not found")));
	/* No user or no query terms (array_agg of none is NULL): nothing to read. */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(5) || !query_terms(fcinfo, 2, &qt))
		return (Datum) 0;
	n = PG_GETARG_INT32(5);
	if (n <= 0 || qt.count == 0)
		return (Datum) 0;
	kept = read_bounds(PG_GETARG_OID(0), PG_GETARG_INT32(1), &qt, n, &best, &unseen);
	for (int i = 0; i < kept; i++)
	{
		Datum		values[4];
		bool		isnull[4] = {false, false, false, false};

		values[0] = Int64GetDatum(best[i].chunk_id);
		values[1] = Float8GetDatum(best[i].sum + unseen);
		values[2] = Int32GetDatum(best[i].length);
		values[3] = Float8GetDatum(unseen);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	return (Datum) 0;
}

/* A query lexeme and its weight, idf * (k1 + 1). */
typedef struct Lexeme
{
	const char *word;
	int			len;
	double		weight;
} Lexeme;

static Lexeme *
query_lexemes(ArrayType *lexemes_array, ArrayType *weights_array, int *count)
{
	Datum	   *lexemes;
	Datum	   *weights;
	bool	   *nulls;
	bool	   *weight_nulls;
	int			nlexemes,
				nweights,
				kept = 0;
	Lexeme	   *out;

	deconstruct_array_builtin(lexemes_array, TEXTOID, &lexemes, &nulls, &nlexemes);
	deconstruct_array_builtin(weights_array, FLOAT8OID, &weights, &weight_nulls, &nweights);
	if (nweights != nlexemes)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lexemes and weights must have the same length")));
	out = palloc(sizeof(Lexeme) * Max(nlexemes, 1));
	for (int i = 0; i < nlexemes; i++)
	{
		text	   *lexeme;

		if (nulls[i] || weight_nulls[i])
			continue;
		lexeme = DatumGetTextPP(lexemes[i]);
		out[kept].word = VARDATA_ANY(lexeme);
		out[kept].len = VARSIZE_ANY_EXHDR(lexeme);
		out[kept].weight = DatumGetFloat8(weights[i]);
		kept++;
	}
	*count = kept;
	return out;
}

/*
 * Sum over the lexemes the tsvector holds of weight * tf / (tf + norm0 + norm1 * length), tf
 * being the lexeme's positions (at least 1): a binary search per lexeme.
 */
static double
score_tsvector(TSVector tsv, const Lexeme *lexemes, int count, double norm0, double norm1,
			   int32 length)
{
	WordEntry  *entries = ARRPTR(tsv);
	char	   *strings = STRPTR(tsv);
	double		score = 0.0;

	for (int i = 0; i < count; i++)
	{
		int			low = 0,
					high = tsv->size;

		while (low < high)
		{
			int			mid = low + (high - low) / 2;
			WordEntry  *entry = &entries[mid];
			int			cmp = tsCompareString(strings + entry->pos, entry->len,
											  (char *) lexemes[i].word, lexemes[i].len, false);

			if (cmp == 0)
			{
				double		tf = Max(POSDATALEN(tsv, entry), 1);

				score += lexemes[i].weight * tf / (tf + norm0 + norm1 * length);
				break;
			}
			if (cmp < 0)
				low = mid + 1;
			else
				high = mid;
		}
	}
	return score;
}

/* One document's best score among those scored, for the k best kept in order. */
typedef struct DocScore
{
	int64		document_id;
	double		score;
} DocScore;

/*
 * Note chunk score `score` of document `doc` in top[0..*count), the k best documents by their
 * best chunk so far, highest first: top[k - 1] is then the k-th document's score.
 */
static void
note_document(DocScore *top, int *count, int k, int64 doc, double score)
{
	int			i;

	for (i = 0; i < *count; i++)
		if (top[i].document_id == doc)
			break;
	if (i < *count)
	{
		if (score <= top[i].score)
			return;
	}
	else if (*count < k)
		i = (*count)++;
	else if (score > top[k - 1].score)
		i = k - 1;				/* the k-th gives its place (it keeps its best elsewhere) */
	else
		return;
	/* move up to its place */
	while (i > 0 && top[i - 1].score < score)
	{
		top[i] = top[i - 1];
		i--;
	}
	top[i].document_id = doc;
	top[i].score = score;
}

/* A chunk scored, for bm25_top_docs to keep each document's best. */
typedef struct ScoredChunk
{
	int64		chunk_id;
	int64		document_id;
	double		score;
} ScoredChunk;

/* By document, each one's best chunk first (ties by chunk id). */
static int
by_document(const void *a, const void *b)
{
	const ScoredChunk *x = (const ScoredChunk *) a;
	const ScoredChunk *y = (const ScoredChunk *) b;
	int			cmp;

	if (x->document_id != y->document_id)
		return x->document_id < y->document_id ? -1 : 1;
	cmp = score_desc(x->score, y->score);
	if (cmp != 0)
		return cmp;
	return (x->chunk_id > y->chunk_id) - (x->chunk_id < y->chunk_id);
}

/* Best score first (ties by document id). */
static int
by_score(const void *a, const void *b)
{
	const ScoredChunk *x = (const ScoredChunk *) a;
	const ScoredChunk *y = (const ScoredChunk *) b;
	int			cmp = score_desc(x->score, y->score);

	if (cmp != 0)
		return cmp;
	return (x->document_id > y->document_id) - (x->document_id < y->document_id);
}

static Datum top_k(FunctionCallInfo fcinfo, bool per_document);

PG_FUNCTION_INFO_V1(bm25_top_k);

/*
 * bm25_top_k(postings_index regclass, user_id int, terms bigint[], weights float8[],
 *            depths int[], n int, chunks_pkey regclass, lexemes text[], lexeme_weights float8[],
 *            norm0 float8, norm1 float8, k int, drift float8)
 *   RETURNS TABLE (chunk_id bigint, document_id bigint, score float8, outside float8)
 *
 * bm25_top_bounds's n chunks scored exactly, highest bound first, each from its tsvector (a
 * look-up by chunks_pkey), as bm25_score scores it. With `drift` (not NULL), scoring stops at
 * the first chunk whose bound times drift is below the k-th best document's score so far:
 * that chunk, and every one after it, cannot be in the top k (a chunk's exact score is at most
 * drift times its bound). Every row carries `outside`: what a chunk not among the n can reach
 * (the higher of `unseen` and, when more chunks were read than n, the n-th bound).
 */
Datum
bm25_top_k(PG_FUNCTION_ARGS)
{
	return top_k(fcinfo, false);
}

PG_FUNCTION_INFO_V1(bm25_top_docs);

/*
 * bm25_top_docs(the arguments of bm25_top_k)
 *   RETURNS TABLE (chunk_id bigint, document_id bigint, score float8, certified bool)
 *
 * bm25_top_k's rows, one per document (its best chunk), best first: what a keyword search
 * ranks, without a sort and a window per document in the statement. Every row carries
 * whether the top k documents are certainly the exact top k (with `drift`: pruning, as a
 * keyword search asks; without it, only when every chunk read was scored).
 */
Datum
bm25_top_docs(PG_FUNCTION_ARGS)
{
	return top_k(fcinfo, true);
}

static Datum
top_k(FunctionCallInfo fcinfo, bool per_document)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	QueryTerms	qt;
	ChunkBound *best;
	double		unseen;
	double		outside;
	int			kept;
	int32		n;
	int32		k;
	Lexeme	   *lexemes;
	int			nlexemes = 0;
	double		norm0,
				norm1;
	bool		prune;
	double		drift = 0.0;
	Relation	heap;
	Relation	index;
	AttrNumber	document_attno = InvalidAttrNumber,
				tsv_attno = InvalidAttrNumber;
	Oid			document_type = InvalidOid;
	TupleDesc	desc;
	Snapshot	snapshot;
	TupleTableSlot *slot;
	IndexScanDesc scan;
	ScanKeyData key;
	DocScore   *top;
	int			ntop = 0;
	ScoredChunk *scored;
	int			nscored = 0;
	bool		certified;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("postings index or chunks key not found")));
	/* No user or no query terms (array_agg of none is NULL): nothing to read. */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(5) || !query_terms(fcinfo, 2, &qt))
		return (Datum) 0;
	for (int i = 9; i < 12; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("norm0, norm1 and k must not be NULL")));
	n = PG_GETARG_INT32(5);
	k = PG_GETARG_INT32(11);
	if (k <= 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("k must be positive")));
	if (n <= 0 || qt.count == 0)
		return (Datum) 0;
	if (!PG_ARGISNULL(7) && !PG_ARGISNULL(8))
		lexemes = query_lexemes(PG_GETARG_ARRAYTYPE_P(7), PG_GETARG_ARRAYTYPE_P(8), &nlexemes);
	else
		lexemes = NULL;
	norm0 = PG_GETARG_FLOAT8(9);
	norm1 = PG_GETARG_FLOAT8(10);
	prune = !PG_ARGISNULL(12);
	if (prune)
		drift = PG_GETARG_FLOAT8(12);

	/*
	 * The chunks before the postings, in the order TRUNCATE chunks locks them (its trigger
	 * empties the postings): holding the postings while waiting for the chunks deadlocked.
	 */
	open_index(PG_GETARG_OID(6), &heap, &index);
	desc = RelationGetDescr(heap);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, i);

		if (attr->attisdropped)
			continue;
		if (strcmp(NameStr(attr->attname), "document_id") == 0)
		{
			document_attno = (AttrNumber) (i + 1);
			document_type = attr->atttypid;
		}
		else if (strcmp(NameStr(attr->attname), "tsv") == 0 && attr->atttypid == TSVECTOROID)
			tsv_attno = (AttrNumber) (i + 1);
	}
	if (document_attno == InvalidAttrNumber ||
		(document_type != INT8OID && document_type != INT4OID) ||
		tsv_attno == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("table \"%s\" must have an integer document_id and a tsvector tsv",
						RelationGetRelationName(heap))));
	/* The key: a unique index on the chunk id alone. */
	if (!index->rd_index->indisunique || IndexRelationGetNumberOfKeyAttributes(index) != 1 ||
		TupleDescAttr(RelationGetDescr(index), 0)->atttypid != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("index \"%s\" must be a unique index on one bigint column",
						RelationGetRelationName(index))));

	kept = read_bounds(PG_GETARG_OID(0), PG_GETARG_INT32(1), &qt, n, &best, &unseen);
	/* As the SQL form: the n-th bound counts when n were kept, of n or more read. */
	outside = unseen;
	if (kept == n && kept > 0 && best[kept - 1].sum + unseen > outside)
		outside = best[kept - 1].sum + unseen;
	if (kept == 0)
	{
		index_close(index, NoLock);
		table_close(heap, NoLock);
		return (Datum) 0;
	}

	snapshot = mvcc_snapshot();
	slot = table_slot_create(heap, NULL);
	scan = index_beginscan(heap, index, snapshot, NULL, 1, 0);
	/* No more documents than chunks scored: k is the caller's, as large as it likes. */
	top = palloc(sizeof(DocScore) * Min(k, kept));
	scored = palloc(sizeof(ScoredChunk) * kept);
	for (int i = 0; i < kept; i++)
	{
		double		bound = best[i].sum + unseen;
		bool		found = false;
		Datum		value;
		bool		null;
		int64		document_id;
		TSVector	tsv;
		double		score;

		CHECK_FOR_INTERRUPTS();
		/* Bounds come highest first: from here on, none can reach the top k. */
		if (prune && ntop == k && drift * bound * (1 + 1e-6) < top[k - 1].score)
			break;
		ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(best[i].chunk_id));
		index_rescan(scan, &key, 1, NULL, 0);
		found = index_getnext_slot(scan, ForwardScanDirection, slot);
		if (!found)
			continue;			/* not visible to this snapshot */
		value = slot_getattr(slot, document_attno, &null);
		if (null)
			continue;
		document_id = document_type == INT8OID ? DatumGetInt64(value) : DatumGetInt32(value);
		value = slot_getattr(slot, tsv_attno, &null);
		if (null)
			score = 0.0;
		else
		{
			tsv = DatumGetTSVector(value);
			score = score_tsvector(tsv, lexemes, nlexemes, norm0, norm1, best[i].length);
			if ((Pointer) tsv != DatumGetPointer(value))
				pfree(tsv);
		}
		ExecClearTuple(slot);
		note_document(top, &ntop, k, document_id, score);
		scored[nscored].chunk_id = best[i].chunk_id;
		scored[nscored].document_id = document_id;
		scored[nscored].score = score;
		nscored++;
	}
	if (per_document && nscored > 0)
	{
		int			kept_docs = 0;

		qsort(scored, nscored, sizeof(ScoredChunk), by_document);
		for (int i = 0; i < nscored; i++)
			if (kept_docs == 0 || scored[kept_docs - 1].document_id != scored[i].document_id)
				scored[kept_docs++] = scored[i];
		nscored = kept_docs;
		qsort(scored, nscored, sizeof(ScoredChunk), by_score);
	}
	/*
	 * The top k certain, as the SQL form's statement checks it: every chunk read was scored, or
	 * (scores at most drift times bounds) the k-th document beats every chunk that was not.
	 * Impacts are 4-byte floats: without the slack, a k-th score equal to the bound (ties are
	 * common) would fail now and then on rounding alone.
	 */
	certified = outside == 0.0 ||
		(prune && ntop == k && top[k - 1].score >= drift * outside * (1 - 1e-6));
	for (int i = 0; i < nscored; i++)
	{
		Datum		values[4];
		bool		isnull[4] = {false, false, false, false};

		values[0] = Int64GetDatum(scored[i].chunk_id);
		values[1] = Int64GetDatum(scored[i].document_id);
		values[2] = Float8GetDatum(scored[i].score);
		values[3] = per_document ? BoolGetDatum(certified) : Float8GetDatum(outside);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, NoLock);
	table_close(heap, NoLock);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(bm25_score);

/*
 * bm25_score(tsv tsvector, lexemes text[], weights float8[], norm0 float8, norm1 float8,
 *            length int) RETURNS float8
 *
 * Sum over the lexemes the tsvector holds of weight * tf / (tf + norm0 + norm1 * length), tf
 * being the lexeme's positions (at least 1): BM25 with weight = idf * (k1 + 1),
 * norm0 = k1 * (1 - b) and norm1 = k1 * b / avgdl.
 */
Datum
bm25_score(PG_FUNCTION_ARGS)
{
	TSVector	tsv = PG_GETARG_TSVECTOR(0);
	int			count;
	Lexeme	   *lexemes = query_lexemes(PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_ARRAYTYPE_P(2), &count);
	double		score = score_tsvector(tsv, lexemes, count, PG_GETARG_FLOAT8(3),
									   PG_GETARG_FLOAT8(4), PG_GETARG_INT32(5));

	PG_FREE_IF_COPY(tsv, 0);
	PG_RETURN_FLOAT8(score);
}

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
	int64		chunk_id;		/* hash key */
	double		sum;			/* sum of w * impact - cutw over the terms that hold it */
	int32		length;
	char		status;			/* simplehash's */
} ChunkBound;

/* An open-addressing hash table of ChunkBound by chunk id (a search may read 100k postings). */
#define SH_PREFIX chunkhash
#define SH_ELEMENT_TYPE ChunkBound
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
 * Highest bound first; ties by chunk id, as the SQL form orders them (float8's order: NaN
 * above every number and equal to itself, so that this is a total order).
 */
static int
bound_desc(const void *a, const void *b)
{
	const ChunkBound *x = (const ChunkBound *) a;
	const ChunkBound *y = (const ChunkBound *) b;
	int			cmp = float8_cmp_internal(y->sum, x->sum);

	if (cmp != 0)
		return cmp;
	return (x->chunk_id > y->chunk_id) - (x->chunk_id < y->chunk_id);
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
	Oid			index_oid;
	int32		user_id;
	ArrayType  *terms_array;
	ArrayType  *weights_array;
	ArrayType  *depths_array;
	int32		n;
	Datum	   *terms;
	Datum	   *weights;
	Datum	   *depths;
	bool	   *nulls;
	int			nterms,
				nweights,
				ndepths;
	Relation	index;
	Relation	heap;
	Oid			heap_oid;
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

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("postings index not found")));
	/* No user or no query terms (array_agg of none is NULL): nothing to read. */
	for (int i = 1; i < 6; i++)
		if (PG_ARGISNULL(i))
			return (Datum) 0;
	index_oid = PG_GETARG_OID(0);
	user_id = PG_GETARG_INT32(1);
	terms_array = PG_GETARG_ARRAYTYPE_P(2);
	weights_array = PG_GETARG_ARRAYTYPE_P(3);
	depths_array = PG_GETARG_ARRAYTYPE_P(4);
	n = PG_GETARG_INT32(5);

	deconstruct_array(terms_array, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &terms, &nulls, &nterms);
	for (int i = 0; i < nterms; i++)
		if (nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("terms must not hold NULL")));
	deconstruct_array_builtin(weights_array, FLOAT8OID, &weights, &nulls, &nweights);
	for (int i = 0; i < nweights; i++)
		if (nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("weights must not hold NULL")));
	deconstruct_array_builtin(depths_array, INT4OID, &depths, &nulls, &ndepths);
	for (int i = 0; i < ndepths; i++)
		if (nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("depths must not hold NULL")));
	if (nweights != nterms || ndepths != nterms)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("terms, weights and depths must have the same length")));
	if (n <= 0 || nterms == 0)
		return (Datum) 0;

	/* The table before its index, as PostgreSQL locks them: the other order can deadlock. */
	heap_oid = IndexGetRelation(index_oid, true);
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
	/* An index the planner would not use (being built, partial) misses postings. */
	if (!index->rd_index->indisvalid || !index->rd_index->indisready)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("index \"%s\" is not valid", RelationGetRelationName(index))));
	if (!heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("index \"%s\" is partial", RelationGetRelationName(index))));
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

	/* As an index-only scan: one visible version per entry, as only an MVCC snapshot gives. */
	if (!ActiveSnapshotSet() || !IsMVCCSnapshot(GetActiveSnapshot()))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bm25_top_bounds needs an MVCC snapshot")));
	snapshot = GetActiveSnapshot();

	chunks = chunkhash_create(CurrentMemoryContext, 4096, NULL);
	slot = table_slot_create(heap, NULL);

	for (int t = 0; t < nterms; t++)
	{
		double		w = DatumGetFloat8(weights[t]);
		int32		depth = DatumGetInt32(depths[t]);
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
		ScanKeyInit(&keys[1], term_attno, BTEqualStrategyNumber, F_INT8EQ, terms[t]);
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
			ChunkBound *entry = chunkhash_insert(chunks, read[i].chunk_id, &found);

			if (!found)
			{
				entry->sum = 0.0;
				entry->length = read[i].length;
			}
			/* as the SQL form sums it: w * impact (float4 widened) - cutw */
			entry->sum += w * read[i].impact - cutw;
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	if (BufferIsValid(vmbuffer))
		ReleaseBuffer(vmbuffer);
	table_close(heap, AccessShareLock);
	index_close(index, AccessShareLock);

	{
		/*
		 * The n best by a min-heap of n (its root the worst kept): one comparison for most
		 * entries, where sorting them all cost more than reading their postings at a million
		 * chunks.
		 */
		long		size = (long) chunks->members;
		int			kept = 0;
		ChunkBound *best = palloc(sizeof(ChunkBound) * Max(Min(size, (long) n), 1));
		chunkhash_iterator it;
		ChunkBound *entry;

		chunkhash_start_iterate(chunks, &it);
		while ((entry = chunkhash_iterate(chunks, &it)) != NULL)
		{
			int			i;

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
				continue;		/* not better than the worst kept */
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
	}
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
	ArrayType  *lexemes_array = PG_GETARG_ARRAYTYPE_P(1);
	ArrayType  *weights_array = PG_GETARG_ARRAYTYPE_P(2);
	double		norm0 = PG_GETARG_FLOAT8(3);
	double		norm1 = PG_GETARG_FLOAT8(4);
	int32		length = PG_GETARG_INT32(5);
	Datum	   *lexemes;
	Datum	   *weights;
	bool	   *nulls;
	int			nlexemes,
				nweights;
	WordEntry  *entries = ARRPTR(tsv);
	char	   *strings = STRPTR(tsv);
	double		score = 0.0;

	deconstruct_array_builtin(lexemes_array, TEXTOID, &lexemes, &nulls, &nlexemes);
	deconstruct_array_builtin(weights_array, FLOAT8OID, &weights, NULL, &nweights);
	if (nweights != nlexemes)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lexemes and weights must have the same length")));
	for (int i = 0; i < nlexemes; i++)
	{
		text	   *lexeme;
		char	   *word;
		int			len;
		int			low = 0,
					high = tsv->size;

		if (nulls[i])
			continue;
		lexeme = DatumGetTextPP(lexemes[i]);
		word = VARDATA_ANY(lexeme);
		len = VARSIZE_ANY_EXHDR(lexeme);
		while (low < high)
		{
			int			mid = low + (high - low) / 2;
			WordEntry  *entry = &entries[mid];
			int			cmp = tsCompareString(strings + entry->pos, entry->len, word, len, false);

			if (cmp == 0)
			{
				double		tf = Max(POSDATALEN(tsv, entry), 1);

				score += DatumGetFloat8(weights[i]) * tf / (tf + norm0 + norm1 * length);
				break;
			}
			if (cmp < 0)
				low = mid + 1;
			else
				high = mid;
		}
	}
	PG_FREE_IF_COPY(tsv, 0);
	PG_RETURN_FLOAT8(score);
}

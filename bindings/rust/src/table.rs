//! [`Supertable`]: one open table. Appends and mutations commit through
//! the C core; searches return Arrow record batches imported through the
//! C stream interface, their buffers still owned by the C side (released
//! when the last array referring to them is dropped).

use std::ffi::{CString, c_char};
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::time::Duration;

use arrow::ffi::FFI_ArrowSchema;
use arrow::ffi_stream::{ArrowArrayStreamReader, FFI_ArrowArrayStream};
use arrow_array::{RecordBatch, RecordBatchIterator};
use arrow_schema::{Schema, SchemaRef};
use datafusion_expr::Expr;

use crate::connection::{Db, c_string};
use crate::error::{GcError, Invalid, OptimizeError, check};
use crate::types::{
    BoolMode, GcReport, MutationStats, OptimizeOptions, VectorFilter, VectorSearchOptions,
};
use crate::{InfinoError, sys};

/// The open `infino_table`, closed on drop before the `Db` it holds.
pub(crate) struct TableHandle {
    ptr: NonNull<sys::infino_table>,
    schema: SchemaRef,
    // Dropped after `Drop::drop` closed the table: the database outlives it.
    _db: Arc<Db>,
}

// SAFETY: include/infino.h ("Threads"): table handles may be shared
// between threads. Readers pin an immutable snapshot per call and never
// block; writers on one handle are serialized by the handle's mutex, and
// writers elsewhere through the commit. The handle is closed only in
// Drop, when no other thread can reach it.
unsafe impl Send for TableHandle {}
unsafe impl Sync for TableHandle {}

impl Drop for TableHandle {
    fn drop(&mut self) {
        // SAFETY: from infino_create_table/infino_open_table; closed once.
        unsafe { sys::infino_table_close(self.ptr.as_ptr()) }
    }
}

impl TableHandle {
    pub(crate) fn new(ptr: NonNull<sys::infino_table>, db: Arc<Db>) -> Result<Self, InfinoError> {
        // Build the handle first, so an error below still closes the table.
        let mut h = TableHandle {
            ptr,
            schema: Arc::new(Schema::empty()),
            _db: db,
        };
        let mut ffi = FFI_ArrowSchema::empty();
        // SAFETY: *ffi is ours after the call (released by its Drop).
        check(
            unsafe { sys::infino_table_schema(h.ptr.as_ptr(), &mut ffi) },
            Invalid::Schema,
        )?;
        h.schema = Arc::new(Schema::try_from(&ffi)?);
        Ok(h)
    }
}

/// Runs `f` with an empty stream for it to fill, and reads every batch.
pub(crate) fn read_stream(
    f: impl FnOnce(*mut FFI_ArrowArrayStream) -> sys::infino_status,
    invalid: Invalid,
) -> Result<Vec<RecordBatch>, InfinoError> {
    let mut stream = FFI_ArrowArrayStream::empty();
    check(f(&mut stream), invalid)?;
    let reader = ArrowArrayStreamReader::try_new(stream)
        .map_err(|e| InfinoError::Backend(format!("reading a result stream: {e}")))?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| InfinoError::Io(e.to_string()))
}

/// `batch` as a C stream of one batch, sharing its buffers.
fn export(batch: &RecordBatch) -> FFI_ArrowArrayStream {
    let reader = RecordBatchIterator::new(vec![Ok(batch.clone())], batch.schema());
    FFI_ArrowArrayStream::new(Box::new(reader))
}

fn stats(s: &sys::infino_mutation_stats) -> MutationStats {
    let n = |x: u64| usize::try_from(x).unwrap_or(usize::MAX);
    MutationStats {
        matched: n(s.matched),
        n_tombstoned: n(s.n_tombstoned),
        n_not_found: n(s.n_not_found),
    }
}

/// Search options in their C form, with the strings they point to.
struct SearchOpts {
    mode: BoolMode,
    /// Owns the strings `projection_ptrs` points to.
    _projection: Vec<CString>,
    projection_ptrs: Vec<*const c_char>,
    has_projection: bool,
    nprobe: u32,
    filter: Option<(CString, CString, BoolMode)>,
}

impl SearchOpts {
    fn new(mode: BoolMode, projection: Option<&[&str]>) -> Result<Self, InfinoError> {
        let given = projection.is_some();
        let projection = projection
            .unwrap_or(&[])
            .iter()
            .map(|c| c_string(c, "a projection column"))
            .collect::<Result<Vec<_>, _>>()?;
        let projection_ptrs = projection.iter().map(|c| c.as_ptr()).collect();
        Ok(SearchOpts {
            mode,
            _projection: projection,
            projection_ptrs,
            // An explicit empty projection is still one (no columns).
            has_projection: given,
            nprobe: 0,
            filter: None,
        })
    }

    fn vector(mut self, options: &VectorSearchOptions) -> Self {
        self.nprobe = options
            .nprobe
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
        self
    }

    fn filter(mut self, f: Option<VectorFilter<'_>>) -> Result<Self, InfinoError> {
        if let Some(f) = f {
            self.filter = Some((
                c_string(f.column, "the filter column")?,
                c_string(f.query, "the filter query")?,
                f.mode,
            ));
        }
        Ok(self)
    }

    /// Borrowed pointers into `self`, valid while `self` is.
    fn c(&self) -> sys::infino_search_opts {
        let (fc, fq, fm) = match &self.filter {
            Some((c, q, m)) => (c.as_ptr(), q.as_ptr(), m.c_name().as_ptr()),
            None => (ptr::null(), ptr::null(), ptr::null()),
        };
        sys::infino_search_opts {
            version: 1,
            mode: self.mode.c_name().as_ptr(),
            projection: if self.has_projection {
                // Non-NULL even when empty: a projection of no columns.
                self.projection_ptrs.as_ptr()
            } else {
                ptr::null()
            },
            n_projection: self.projection_ptrs.len(),
            nprobe: self.nprobe,
            filter_column: fc,
            filter_query: fq,
            filter_mode: fm,
        }
    }
}

/// One open table. Cheap to clone; clones share the handle, and the
/// handle keeps its [`Connection`](crate::Connection)'s database open.
///
/// **Threads:** `Supertable` is `Send + Sync`. Any number of threads may
/// search one handle (each call reads one immutable snapshot and never
/// blocks) while others append, update, delete or optimize through it
/// (writers on one handle take turns; writers in other handles or
/// processes serialize through the commit and retry on conflict).
#[derive(Clone)]
pub struct Supertable {
    inner: Arc<TableHandle>,
}

impl std::fmt::Debug for Supertable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supertable")
            .field("schema", &self.inner.schema)
            .finish_non_exhaustive()
    }
}

impl Supertable {
    pub(crate) fn from_handle(h: TableHandle) -> Self {
        Supertable { inner: Arc::new(h) }
    }

    fn ptr(&self) -> *mut sys::infino_table {
        self.inner.ptr.as_ptr()
    }

    /// The table's columns as created (without the engine's `_id`).
    pub fn schema(&self) -> SchemaRef {
        self.inner.schema.clone()
    }

    /// Appends the rows of `batch` as one atomic commit, durable when this
    /// returns. Columns are matched by name and converted where lossless
    /// (utf8 and large_utf8, integer widths, list and fixed-size list);
    /// any row that does not fit fails the whole call with
    /// [`InfinoError::Schema`] naming the column and row. The buffers
    /// cross to the C core without copying.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use arrow_array::{LargeStringArray, RecordBatch};
    /// # use arrow_schema::{DataType, Field, Schema};
    /// # use infino::{connect, IndexSpec};
    /// # let db = connect("memory://")?;
    /// let schema = Arc::new(Schema::new(vec![Field::new("body", DataType::LargeUtf8, false)]));
    /// let posts = db.create_table("posts", schema.clone(), IndexSpec::new().fts("body"))?;
    /// posts.append(&RecordBatch::try_new(
    ///     schema,
    ///     vec![Arc::new(LargeStringArray::from(vec!["hello world", "goodbye"]))],
    /// )?)?;
    /// assert_eq!(posts.count("body", "hello", infino::BoolMode::Or)?, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn append(&self, batch: &RecordBatch) -> Result<(), InfinoError> {
        let mut stream = export(batch);
        // SAFETY: the call takes the stream (releases it, also on error);
        // our struct is then marked released and its Drop does nothing.
        let st = unsafe { sys::infino_table_append(self.ptr(), &mut stream, ptr::null_mut()) };
        check(st, Invalid::Schema)
    }

    /// Replaces the rows `predicate` selects by `new_rows`, 1:1, in one
    /// atomic commit; [`InfinoError::Cardinality`], changing nothing, when
    /// the counts differ. Replacement rows get new `_id`s. Needs durable
    /// storage. The predicate is rendered to SQL (see the crate docs for
    /// what renders); one that cannot be is [`InfinoError::Query`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use arrow_array::{Int64Array, LargeStringArray, RecordBatch};
    /// # use arrow_schema::{DataType, Field, Schema};
    /// use datafusion_expr::{col, lit};
    /// # use infino::{connect, IndexSpec};
    /// # let dir = std::env::temp_dir().join(format!("infino-doc-update-{}", std::process::id()));
    /// # let db = connect(dir.to_str().unwrap())?;
    /// let schema = Arc::new(Schema::new(vec![
    ///     Field::new("doc_id", DataType::Int64, false),
    ///     Field::new("body", DataType::LargeUtf8, false),
    /// ]));
    /// let docs = db.create_table("docs", schema.clone(), IndexSpec::new().fts("body"))?;
    /// let rows = |id: i64, body: &str| RecordBatch::try_new(schema.clone(), vec![
    ///     Arc::new(Int64Array::from(vec![id])),
    ///     Arc::new(LargeStringArray::from(vec![body])),
    /// ]);
    /// docs.append(&rows(1, "old text")?)?;
    /// let stats = docs.update(col("doc_id").eq(lit(1i64)), &rows(1, "new text")?)?;
    /// assert_eq!(stats.matched(), 1);
    /// assert_eq!(docs.count("body", "new", infino::BoolMode::Or)?, 1);
    /// # drop(docs); drop(db); std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn update(
        &self,
        predicate: Expr,
        new_rows: &RecordBatch,
    ) -> Result<MutationStats, InfinoError> {
        let pred = c_string(&crate::expr::to_sql(&predicate)?, "the predicate")?;
        let mut stream = export(new_rows);
        let mut out = sys::infino_mutation_stats::default();
        // SAFETY: predicate borrowed, stream taken (see append).
        let st =
            unsafe { sys::infino_table_update(self.ptr(), pred.as_ptr(), &mut stream, &mut out) };
        check(st, Invalid::Query)?;
        Ok(stats(&out))
    }

    /// Deletes the rows `predicate` selects, in one atomic commit. Needs
    /// durable storage. The predicate renders as for
    /// [`update`](Self::update).
    pub fn delete(&self, predicate: Expr) -> Result<MutationStats, InfinoError> {
        let pred = c_string(&crate::expr::to_sql(&predicate)?, "the predicate")?;
        let mut out = sys::infino_mutation_stats::default();
        // SAFETY: predicate borrowed for the call.
        let st = unsafe { sys::infino_table_delete(self.ptr(), pred.as_ptr(), &mut out) };
        check(st, Invalid::Query)?;
        Ok(stats(&out))
    }

    /// Top `k` rows by BM25 over the full-text column `column`, best
    /// first. `projection` names the result columns (`_id`, `score`, any
    /// column of the table); `None` gives `_id` and `score`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use arrow_array::{LargeStringArray, RecordBatch};
    /// # use arrow_schema::{DataType, Field, Schema};
    /// # use infino::{connect, BoolMode, IndexSpec};
    /// # let db = connect("memory://")?;
    /// # let schema = Arc::new(Schema::new(vec![Field::new("body", DataType::LargeUtf8, false)]));
    /// # let posts = db.create_table("posts", schema.clone(), IndexSpec::new().fts("body"))?;
    /// # posts.append(&RecordBatch::try_new(schema, vec![Arc::new(LargeStringArray::from(vec!["the quick fox", "a lazy dog"]))])?)?;
    /// let hits = posts.bm25_search("body", "fox", 10, BoolMode::Or, Some(&["_id", "body", "score"]))?;
    /// assert_eq!(hits.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bm25_search(
        &self,
        column: &str,
        query: &str,
        k: usize,
        mode: BoolMode,
        projection: Option<&[&str]>,
    ) -> Result<Vec<RecordBatch>, InfinoError> {
        let col = c_string(column, "the column name")?;
        let o = SearchOpts::new(mode, projection)?;
        let co = o.c();
        read_stream(
            // SAFETY: every pointer borrowed for the call.
            |out| unsafe {
                sys::infino_table_bm25_search(
                    self.ptr(),
                    col.as_ptr(),
                    query.as_ptr().cast(),
                    query.len(),
                    k,
                    &co,
                    out,
                )
            },
            Invalid::Query,
        )
    }

    /// The `k` rows of vector column `column` nearest to `query`, nearest
    /// first (`score` is the distance). With `filter`, only rows whose
    /// full-text column matches are ranked.
    pub fn vector_search(
        &self,
        column: &str,
        query: &[f32],
        k: usize,
        options: VectorSearchOptions,
        filter: Option<VectorFilter<'_>>,
        projection: Option<&[&str]>,
    ) -> Result<Vec<RecordBatch>, InfinoError> {
        let col = c_string(column, "the column name")?;
        let o = SearchOpts::new(BoolMode::Or, projection)?
            .vector(&options)
            .filter(filter)?;
        let co = o.c();
        read_stream(
            // SAFETY: every pointer borrowed for the call.
            |out| unsafe {
                sys::infino_table_vector_search(
                    self.ptr(),
                    col.as_ptr(),
                    query.as_ptr(),
                    query.len(),
                    k,
                    &co,
                    out,
                )
            },
            Invalid::Query,
        )
    }

    /// Reciprocal rank fusion (k = 60) of a BM25 search of `text_col` and
    /// a vector search of `vec_col`, best first.
    #[allow(clippy::too_many_arguments)]
    pub fn hybrid_search(
        &self,
        text_col: &str,
        q_text: &str,
        mode: BoolMode,
        vec_col: &str,
        q_vec: &[f32],
        options: VectorSearchOptions,
        k: usize,
        projection: Option<&[&str]>,
    ) -> Result<Vec<RecordBatch>, InfinoError> {
        let tcol = c_string(text_col, "the text column name")?;
        let vcol = c_string(vec_col, "the vector column name")?;
        let o = SearchOpts::new(mode, projection)?.vector(&options);
        let co = o.c();
        read_stream(
            // SAFETY: every pointer borrowed for the call.
            |out| unsafe {
                sys::infino_table_hybrid_search(
                    self.ptr(),
                    tcol.as_ptr(),
                    q_text.as_ptr().cast(),
                    q_text.len(),
                    vcol.as_ptr(),
                    q_vec.as_ptr(),
                    q_vec.len(),
                    k,
                    &co,
                    out,
                )
            },
            Invalid::Query,
        )
    }

    /// Every row whose full-text column matches the terms of `query`
    /// (unranked: `score` is 0).
    pub fn token_match(
        &self,
        column: &str,
        query: &str,
        mode: BoolMode,
        projection: Option<&[&str]>,
    ) -> Result<Vec<RecordBatch>, InfinoError> {
        let col = c_string(column, "the column name")?;
        let o = SearchOpts::new(mode, projection)?;
        let co = o.c();
        read_stream(
            // SAFETY: every pointer borrowed for the call.
            |out| unsafe {
                sys::infino_table_token_match(
                    self.ptr(),
                    col.as_ptr(),
                    query.as_ptr().cast(),
                    query.len(),
                    &co,
                    out,
                )
            },
            Invalid::Query,
        )
    }

    /// Every row whose `column` value is exactly `value` (unranked).
    pub fn exact_match(
        &self,
        column: &str,
        value: &str,
        projection: Option<&[&str]>,
    ) -> Result<Vec<RecordBatch>, InfinoError> {
        let col = c_string(column, "the column name")?;
        let o = SearchOpts::new(BoolMode::Or, projection)?;
        let co = o.c();
        read_stream(
            // SAFETY: every pointer borrowed for the call.
            |out| unsafe {
                sys::infino_table_exact_match(
                    self.ptr(),
                    col.as_ptr(),
                    value.as_ptr().cast(),
                    value.len(),
                    &co,
                    out,
                )
            },
            Invalid::Query,
        )
    }

    /// How many rows match `query` under `mode`, without fetching them.
    pub fn count(&self, column: &str, query: &str, mode: BoolMode) -> Result<u64, InfinoError> {
        let col = c_string(column, "the column name")?;
        let mut n = 0u64;
        // SAFETY: every pointer borrowed for the call.
        let st = unsafe {
            sys::infino_table_count(
                self.ptr(),
                col.as_ptr(),
                query.as_ptr().cast(),
                query.len(),
                mode.c_name().as_ptr(),
                &mut n,
            )
        };
        check(st, Invalid::Query)?;
        Ok(n)
    }

    /// Merges small or underfilled superfiles and drops deleted rows, one
    /// atomic commit per merged group. Works on `memory://` tables too.
    pub fn optimize(&self, opts: &OptimizeOptions) -> Result<(), OptimizeError> {
        let c = &opts.compaction;
        let o = sys::infino_optimize_opts {
            version: 1,
            max_memory_mb: c.max_memory_mb,
            min_fill_percent: i32::from(c.min_fill_percent.min(100)),
            target_superfile_mb: c.target_superfile_size_mb,
        };
        // SAFETY: options borrowed for the call.
        let st = unsafe { sys::infino_table_optimize(self.ptr(), &o) };
        if st == sys::INFINO_ERR_UNSUPPORTED {
            let _ = crate::error::last_error();
            return Err(OptimizeError::NoStorage);
        }
        check(st, Invalid::Query).map_err(OptimizeError::from)
    }

    /// Deletes files that no retained snapshot needs and that are older
    /// than `safety_gap`, on `memory://` too (upstream's returns
    /// [`GcError::NoStorage`] there).
    pub fn gc(&self, safety_gap: Duration) -> Result<GcReport, GcError> {
        let mut r = sys::infino_gc_report::default();
        // SAFETY: out-parameter only.
        let st = unsafe { sys::infino_table_gc(self.ptr(), safety_gap.as_secs_f64(), &mut r) };
        match st {
            sys::INFINO_OK => Ok(GcReport {
                objects_deleted: r.objects_deleted,
                bytes_freed: r.bytes_freed,
                objects_skipped_live: r.objects_skipped_live,
                objects_skipped_too_new: r.objects_skipped_too_new,
                delete_errors: r.delete_errors,
            }),
            sys::INFINO_ERR_UNSUPPORTED => {
                let _ = crate::error::last_error();
                Err(GcError::NoStorage)
            }
            _ => Err(GcError::Storage(crate::error::last_error())),
        }
    }
}

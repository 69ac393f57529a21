//! [`connect`], [`connect_with`] and [`Connection`]: one open database
//! (a folder, a bucket prefix or `memory://`) and its catalog of tables.

use std::ffi::{CStr, CString, c_char};
use std::ptr::{self, NonNull};
use std::sync::Arc;

use arrow::ffi::FFI_ArrowSchema;
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::error::{Invalid, check};
use crate::table::{Supertable, TableHandle, read_stream};
use crate::types::{ConnectOptions, IndexSpec};
use crate::{InfinoError, sys};

/// The open `infino_db`. Closed when the last [`Connection`] clone and
/// the last table handle opened from it are gone (tables hold an `Arc`
/// of it, so a table is always closed before its database, as
/// include/infino.h requires).
pub(crate) struct Db {
    ptr: NonNull<sys::infino_db>,
}

// SAFETY: include/infino.h ("Threads"): database handles may be shared
// between threads; every call pins its own snapshot, and the catalog
// serializes writers through its commit. The handle is closed only in
// Drop, when no other reference (so no other thread) can use it.
unsafe impl Send for Db {}
unsafe impl Sync for Db {}

impl Db {
    pub(crate) fn as_ptr(&self) -> *mut sys::infino_db {
        self.ptr.as_ptr()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        // SAFETY: the pointer came from infino_connect and is closed once.
        unsafe { sys::infino_db_close(self.ptr.as_ptr()) }
    }
}

/// A NUL-terminated copy of `s`; a NUL inside is an error naming `what`.
pub(crate) fn c_string(s: &str, what: &str) -> Result<CString, InfinoError> {
    CString::new(s).map_err(|_| InfinoError::Query(format!("{what} contains a NUL byte")))
}

/// An open database: a catalog of named tables. Cheap to clone; clones
/// share the handle.
///
/// **Threads:** `Connection` is `Send + Sync`. Share it (or clones) freely:
/// the C core lets any number of threads use one database handle at once
/// (readers never block; creates and drops commit atomically).
#[derive(Clone)]
pub struct Connection {
    db: Arc<Db>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").finish_non_exhaustive()
    }
}

/// Opens (creating if needed) the database at `uri`: a path or
/// `file://` URI, `s3://bucket/prefix`, `gs://bucket/prefix`,
/// `az://container/prefix`, or `memory://` (this connection only, gone
/// with it; update, delete and gc need durable storage). Connecting
/// touches no network.
///
/// ```
/// let db = infino::connect("memory://")?;
/// assert!(db.list_tables()?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn connect(uri: impl AsRef<str>) -> Result<Connection, InfinoError> {
    connect_with(uri, ConnectOptions::default())
}

/// [`connect`] with storage options (credentials, region, endpoint), the
/// local read cache of object stores, and an optional probe
/// ([`ConnectOptions::with_validate`]).
///
/// ```
/// use infino::{connect_with, ConnectOptions};
/// // Keys are checked at connect; the bucket is not contacted.
/// let db = connect_with("s3://some-bucket/prefix", ConnectOptions::new()
///     .with_storage_option("aws_region", "eu-west-1"))?;
/// # let _ = db;
/// assert!(connect_with("s3://b/p", ConnectOptions::new()
///     .with_storage_option("not_a_real_key", "x")).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn connect_with(
    uri: impl AsRef<str>,
    options: ConnectOptions,
) -> Result<Connection, InfinoError> {
    let uri = c_string(uri.as_ref(), "the URI")?;
    let mut keep: Vec<CString> = Vec::new();
    let mut pairs: Vec<sys::infino_storage_option> = Vec::new();
    for (k, v) in &options.storage_options {
        let k = c_string(k, "a storage option key")?;
        let v = CString::new(v.as_str()).map_err(|_| {
            // The value may be a secret: name the key only.
            InfinoError::Query(format!(
                "storage option {} contains a NUL byte",
                k.to_string_lossy()
            ))
        })?;
        pairs.push(sys::infino_storage_option {
            key: k.as_ptr(),
            value: v.as_ptr(),
        });
        keep.push(k);
        keep.push(v);
    }
    let cache_dir = match &options.cache_dir {
        Some(p) => Some(c_string(
            p.to_str()
                .ok_or_else(|| InfinoError::Query("cache_dir is not valid UTF-8".into()))?,
            "cache_dir",
        )?),
        None => None,
    };
    let opts = sys::infino_connect_opts {
        version: 3,
        tmp_dir: ptr::null(),
        build_memory_bytes: 0,
        storage_options: if pairs.is_empty() {
            ptr::null()
        } else {
            pairs.as_ptr()
        },
        n_storage_options: pairs.len(),
        cache_dir: cache_dir.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
        cache_budget_bytes: options.cache_budget_bytes.unwrap_or(0),
        cold_fetch_mode: options.cold_fetch_mode.c_name().as_ptr(),
    };
    let mut out: *mut sys::infino_db = ptr::null_mut();
    // SAFETY: every pointer in `opts` is alive (`keep`, `pairs`,
    // `cache_dir`, static names) for the duration of the call.
    let st = unsafe { sys::infino_connect(&mut out, uri.as_ptr(), &opts) };
    check(st, Invalid::Query)?;
    let db = Connection {
        db: Arc::new(Db {
            ptr: NonNull::new(out).expect("infino_connect returned OK with a handle"),
        }),
    };
    if options.validate {
        db.list_tables()?;
    }
    Ok(db)
}

/// A C index spec, freed on drop.
struct Spec(*mut sys::infino_index_spec);

impl Drop for Spec {
    fn drop(&mut self) {
        // SAFETY: from infino_index_spec_new; NULL is a no-op.
        unsafe { sys::infino_index_spec_free(self.0) }
    }
}

fn c_spec(spec: &IndexSpec) -> Result<Spec, InfinoError> {
    let mut s = Spec(ptr::null_mut());
    // SAFETY: plain out-parameter calls on a spec we own.
    check(
        unsafe { sys::infino_index_spec_new(&mut s.0) },
        Invalid::Schema,
    )?;
    for c in &spec.fts {
        let c = c_string(c, "a column name")?;
        check(
            unsafe { sys::infino_index_spec_fts(s.0, c.as_ptr()) },
            Invalid::Schema,
        )?;
    }
    for v in &spec.vectors {
        let c = c_string(&v.column, "a column name")?;
        let dim = u32::try_from(v.dim)
            .map_err(|_| InfinoError::Schema(format!("{}: dim {} too large", v.column, v.dim)))?;
        let n_cent = u32::try_from(v.n_cent).map_err(|_| {
            InfinoError::Schema(format!("{}: n_cent {} too large", v.column, v.n_cent))
        })?;
        check(
            unsafe {
                sys::infino_index_spec_vector(
                    s.0,
                    c.as_ptr(),
                    dim,
                    n_cent,
                    v.metric.c_name().as_ptr(),
                )
            },
            Invalid::Schema,
        )?;
    }
    Ok(s)
}

impl Connection {
    fn open_with(
        &self,
        f: impl FnOnce(*mut *mut sys::infino_table) -> sys::infino_status,
        invalid: Invalid,
    ) -> Result<Supertable, InfinoError> {
        let mut out: *mut sys::infino_table = ptr::null_mut();
        check(f(&mut out), invalid)?;
        let handle = TableHandle::new(
            NonNull::new(out).expect("a table call returned OK with a handle"),
            self.db.clone(),
        )?;
        Ok(Supertable::from_handle(handle))
    }

    /// Creates table `name` with the Arrow `schema` (its columns; `_id` is
    /// added by the engine) and the search `indexes`, and returns it open.
    /// [`InfinoError::AlreadyExists`] when the name is taken;
    /// [`InfinoError::Schema`] naming the column for a schema or spec no
    /// table can serve.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use arrow_schema::{DataType, Field, Schema};
    /// use infino::{connect, IndexSpec};
    ///
    /// let db = connect("memory://")?;
    /// let schema = Arc::new(Schema::new(vec![Field::new("body", DataType::LargeUtf8, false)]));
    /// let posts = db.create_table("posts", schema, IndexSpec::new().fts("body"))?;
    /// assert_eq!(db.list_tables()?, ["posts"]);
    /// assert_eq!(posts.schema().field(0).name(), "body");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_table(
        &self,
        name: &str,
        schema: SchemaRef,
        indexes: IndexSpec,
    ) -> Result<Supertable, InfinoError> {
        let cname = c_string(name, "the table name")?;
        let ffi_schema = FFI_ArrowSchema::try_from(schema.as_ref())?;
        let spec = c_spec(&indexes)?;
        // SAFETY: schema and spec are borrowed for the call only.
        self.open_with(
            |out| unsafe {
                sys::infino_create_table(out, self.db.as_ptr(), cname.as_ptr(), &ffi_schema, spec.0)
            },
            Invalid::Schema,
        )
    }

    /// Opens the existing table `name`; [`InfinoError::NotFound`] when
    /// there is none.
    pub fn open_table(&self, name: &str) -> Result<Supertable, InfinoError> {
        let cname = c_string(name, "the table name")?;
        self.open_with(
            // SAFETY: name borrowed for the call.
            |out| unsafe { sys::infino_open_table(out, self.db.as_ptr(), cname.as_ptr()) },
            Invalid::Query,
        )
    }

    /// Removes table `name` from the catalog; with `purge`, also deletes
    /// its storage. Handles already open refuse further writes.
    /// [`InfinoError::NotFound`] when absent.
    pub fn drop_table(&self, name: &str, purge: bool) -> Result<(), InfinoError> {
        let cname = c_string(name, "the table name")?;
        // SAFETY: name borrowed for the call.
        let st = unsafe { sys::infino_drop_table(self.db.as_ptr(), cname.as_ptr(), purge.into()) };
        check(st, Invalid::Query)
    }

    /// The names of all tables, sorted.
    pub fn list_tables(&self) -> Result<Vec<String>, InfinoError> {
        let mut names: *mut *mut c_char = ptr::null_mut();
        let mut n = 0usize;
        // SAFETY: out-parameters; the array is ours until freed below.
        check(
            unsafe { sys::infino_list_tables(self.db.as_ptr(), &mut names, &mut n) },
            Invalid::Query,
        )?;
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            // SAFETY: `names` holds `n` NUL-terminated strings.
            let s = unsafe { CStr::from_ptr(*names.add(i)) };
            out.push(s.to_string_lossy().into_owned());
        }
        // SAFETY: handed out by infino_list_tables with this count.
        unsafe { sys::infino_free_names(names, n) };
        Ok(out)
    }

    /// Runs one read-only SQL statement (SQLite's dialect) over the
    /// database's tables (`_id` and scalar columns) and the search table
    /// functions `bm25_search('table', 'column', 'query', k)`,
    /// `vector_search('table', 'column', '0.1,0.2,...', k)`,
    /// `hybrid_search`, `token_match` and `exact_match`.
    ///
    /// ```
    /// let db = infino::connect("memory://")?;
    /// let rows = db.query_sql("SELECT 1 + 1 AS two")?;
    /// assert_eq!(rows.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn query_sql(&self, sql: &str) -> Result<Vec<RecordBatch>, InfinoError> {
        let csql = c_string(sql, "the SQL text")?;
        // SAFETY: sql borrowed for the call; the stream is ours after.
        read_stream(
            |out| unsafe { sys::infino_query_sql(self.db.as_ptr(), csql.as_ptr(), out) },
            Invalid::Query,
        )
    }
}

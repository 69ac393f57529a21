//! The value types the public signatures name: connection options, index
//! specs, search options and the reports mutations, optimize and gc
//! return. Plain Rust data; nothing here touches the C core.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Distance metric of a vector index. Smaller is nearer for every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// `1 - cos(a, b)`.
    Cosine,
    /// Squared Euclidean distance.
    L2Sq,
    /// `-dot(a, b)`, for maximum-inner-product search.
    NegDot,
}

impl Metric {
    pub(crate) fn c_name(self) -> &'static std::ffi::CStr {
        match self {
            Metric::Cosine => c"cosine",
            Metric::L2Sq => c"l2sq",
            Metric::NegDot => c"negdot",
        }
    }
}

/// How the terms of a multi-term text query combine.
#[derive(Debug, Copy, Clone, Eq, PartialEq)]
pub enum BoolMode {
    /// Every term must match.
    And,
    /// Any term may match; more matches score higher.
    Or,
}

impl BoolMode {
    pub(crate) fn c_name(self) -> &'static std::ffi::CStr {
        match self {
            BoolMode::And => c"and",
            BoolMode::Or => c"or",
        }
    }
}

impl From<&str> for BoolMode {
    /// `"and"` is [`BoolMode::And`]; anything else [`BoolMode::Or`].
    fn from(s: &str) -> Self {
        match s {
            "and" => BoolMode::And,
            _ => BoolMode::Or,
        }
    }
}

/// Options of a vector (or the vector half of a hybrid) search.
///
/// ```
/// let o = infino::VectorSearchOptions::new().with_nprobe(8);
/// assert_eq!(o.nprobe, Some(8));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct VectorSearchOptions {
    /// IVF lists to probe; `None` is the engine's default.
    pub nprobe: Option<usize>,
    rerank_mult: Option<usize>,
}

impl VectorSearchOptions {
    /// Upstream's unfiltered default probe count (informational: `None`
    /// lets the C core choose its own default).
    pub const DEFAULT_NPROBE: usize = 6;
    /// Upstream's default rerank multiplier (informational, see
    /// [`with_rerank_mult`](Self::with_rerank_mult)).
    pub const RERANK_MULT: usize = 256;

    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Probe `n` IVF lists (more: better recall, slower).
    pub fn with_nprobe(mut self, n: usize) -> Self {
        self.nprobe = Some(n);
        self
    }

    /// Accepted for upstream compatibility and otherwise unused: this
    /// engine rescores every candidate from the stored float32 vectors,
    /// so there is no approximate score to rerank.
    pub fn with_rerank_mult(mut self, n: usize) -> Self {
        self.rerank_mult = Some(n.max(1));
        self
    }

    /// The value given to [`with_rerank_mult`](Self::with_rerank_mult).
    pub fn rerank_mult(&self) -> Option<usize> {
        self.rerank_mult
    }
}

/// A full-text pre-filter for vector search: rank by distance only among
/// rows whose `column` matches `query` under `mode`.
#[derive(Debug, Clone, Copy)]
pub struct VectorFilter<'a> {
    /// A full-text indexed column.
    pub column: &'a str,
    /// Its query text, tokenized as the index is.
    pub query: &'a str,
    /// How the query's terms combine.
    pub mode: BoolMode,
}

/// One vector index of an [`IndexSpec`].
#[derive(Debug, Clone)]
pub(crate) struct VectorIndex {
    pub(crate) column: String,
    pub(crate) dim: usize,
    pub(crate) n_cent: usize,
    pub(crate) metric: Metric,
}

/// Which columns of a table are full-text and vector indexed.
///
/// ```
/// use infino::{IndexSpec, Metric};
/// let spec = IndexSpec::new()
///     .fts("body")
///     .vector("embedding", 384, 256, Metric::Cosine);
/// # let _ = spec;
/// ```
#[derive(Debug, Clone, Default)]
pub struct IndexSpec {
    pub(crate) fts: Vec<String>,
    pub(crate) vectors: Vec<VectorIndex>,
}

impl IndexSpec {
    /// No indexes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Index `column` (utf8 or large_utf8) for BM25 full-text search.
    pub fn fts(mut self, column: impl Into<String>) -> Self {
        self.fts.push(column.into());
        self
    }

    /// Index `column`, a `FixedSizeList<Float32, dim>`, for vector search
    /// with `n_cent` IVF lists and the distance `metric`.
    pub fn vector(
        mut self,
        column: impl Into<String>,
        dim: usize,
        n_cent: usize,
        metric: Metric,
    ) -> Self {
        self.vectors.push(VectorIndex {
            column: column.into(),
            dim,
            n_cent,
            metric,
        });
        self
    }
}

/// How an object not yet in the local read cache is fetched (object
/// stores only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColdFetchMode {
    /// The ranges a read needs and up to 1 MiB after them, all kept.
    HybridWithPrefetch,
    /// Only the ranges read, nothing kept.
    RangeOnly,
    /// The ranges a read needs now; the rest downloaded in the background.
    #[default]
    LazyForegroundWithBackgroundFill,
}

impl ColdFetchMode {
    pub(crate) fn c_name(self) -> &'static std::ffi::CStr {
        match self {
            ColdFetchMode::HybridWithPrefetch => c"hybrid_with_prefetch",
            ColdFetchMode::RangeOnly => c"range_only",
            ColdFetchMode::LazyForegroundWithBackgroundFill => {
                c"lazy_foreground_with_background_fill"
            }
        }
    }
}

/// Options of [`connect_with`](crate::connect_with).
///
/// ```
/// use infino::{connect_with, ConnectOptions};
/// let db = connect_with("memory://", ConnectOptions::new().with_validate(true))?;
/// # let _ = db;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub(crate) storage_options: BTreeMap<String, String>,
    pub(crate) cache_dir: Option<PathBuf>,
    pub(crate) cache_budget_bytes: Option<u64>,
    pub(crate) cold_fetch_mode: ColdFetchMode,
    pub(crate) connection_memory_budget_bytes: Option<u64>,
    pub(crate) validate: bool,
}

impl ConnectOptions {
    /// The defaults: no storage options, no cache, no probe.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keep superfiles and tombstones of object stores under `dir`.
    pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Disk budget of the cache (default 10 GiB).
    pub fn with_cache_budget_bytes(mut self, bytes: u64) -> Self {
        self.cache_budget_bytes = Some(bytes);
        self
    }

    /// How uncached objects are fetched.
    pub fn with_cold_fetch_mode(mut self, mode: ColdFetchMode) -> Self {
        self.cold_fetch_mode = mode;
        self
    }

    /// Accepted for upstream compatibility and otherwise unused: the C
    /// core bounds memory per operation (build spills, merge budgets),
    /// not per connection.
    pub fn with_connection_memory_budget_bytes(mut self, bytes: u64) -> Self {
        self.connection_memory_budget_bytes = Some(bytes);
        self
    }

    /// One storage option, named as upstream names them (`aws_*`,
    /// `google_*`, `azure_*`; docs/object-storage.md). A key no backend
    /// knows, or one of another backend, fails at connect.
    pub fn with_storage_option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.storage_options.insert(key.into(), value.into());
        self
    }

    /// With `true`, connect reads the catalog once, so a wrong bucket,
    /// endpoint or credential fails at connect instead of first use.
    pub fn with_validate(mut self, validate: bool) -> Self {
        self.validate = validate;
        self
    }
}

/// What one `update` or `delete` did.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MutationStats {
    pub(crate) matched: usize,
    pub(crate) n_tombstoned: usize,
    pub(crate) n_not_found: usize,
}

impl MutationStats {
    /// Rows the predicate selected.
    pub fn matched(&self) -> usize {
        self.matched
    }

    /// Rows this call removed (an update removes the rows it replaces).
    pub fn n_tombstoned(&self) -> usize {
        self.n_tombstoned
    }

    /// Selected rows that were already gone when the commit landed.
    pub fn n_not_found(&self) -> usize {
        self.n_not_found
    }
}

/// What [`Supertable::gc`](crate::Supertable::gc) removed and kept.
#[derive(Debug, Default, Clone)]
pub struct GcReport {
    /// Files deleted.
    pub objects_deleted: u64,
    /// Their bytes.
    pub bytes_freed: u64,
    /// Files kept because a retained snapshot needs them.
    pub objects_skipped_live: u64,
    /// Unneeded files kept because they are younger than the grace period.
    pub objects_skipped_too_new: u64,
    /// Deletions that failed (retried by a later gc).
    pub delete_errors: u64,
}

/// Compaction settings of [`OptimizeOptions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionSettings {
    /// Target size of a merged superfile, in MiB.
    pub target_superfile_size_mb: u64,
    /// Superfiles filled below this percentage of the target are merged
    /// (values above 100 act as 100).
    pub min_fill_percent: u8,
    /// Memory budget of one merge, in MiB.
    pub max_memory_mb: u64,
}

impl Default for CompactionSettings {
    /// Upstream's defaults: 1024 MiB target, 80 %, 3072 MiB.
    fn default() -> Self {
        Self {
            target_superfile_size_mb: 1024,
            min_fill_percent: 80,
            max_memory_mb: 1024 + 2048,
        }
    }
}

/// Options of [`Supertable::optimize`](crate::Supertable::optimize).
///
/// ```
/// use infino::{CompactionSettings, OptimizeOptions};
/// let o = OptimizeOptions::compact(CompactionSettings {
///     min_fill_percent: 50,
///     ..CompactionSettings::default()
/// });
/// # let _ = o;
/// ```
#[derive(Debug, Clone, Default)]
pub struct OptimizeOptions {
    pub(crate) compaction: CompactionSettings,
}

impl OptimizeOptions {
    /// Compact with `settings`.
    pub fn compact(settings: CompactionSettings) -> Self {
        Self {
            compaction: settings,
        }
    }
}

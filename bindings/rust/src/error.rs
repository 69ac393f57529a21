//! The crate's error types: [`InfinoError`] for every call, and the two
//! that upstream's `optimize` and `gc` return, [`OptimizeError`] and
//! [`GcError`]. The message is the C core's (infino_last_error()), which
//! names the table, column or file involved.

use std::ffi::CStr;
use std::fmt;

use crate::sys;

/// The error of every fallible call. The variant says what kind of
/// failure it is; the text says what exactly went wrong.
#[non_exhaustive]
#[derive(Debug)]
pub enum InfinoError {
    /// No such table (or file).
    NotFound(String),
    /// A table of that name exists already.
    AlreadyExists(String),
    /// The schema, the index spec or the rows do not fit the table.
    Schema(String),
    /// `update` matched a different number of rows than it was given.
    Cardinality(String),
    /// Reading or writing storage failed, or stored bytes are corrupt.
    Io(String),
    /// A search, SQL statement or predicate is invalid (including an
    /// update/delete [`Expr`](datafusion_expr::Expr) this crate cannot
    /// render).
    Query(String),
    /// Anything else: out of memory, a lost commit race, an operation the
    /// storage does not support (update/delete/gc on `memory://`).
    Backend(String),
}

impl fmt::Display for InfinoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InfinoError::NotFound(m) => write!(f, "not found: {m}"),
            InfinoError::AlreadyExists(m) => write!(f, "already exists: {m}"),
            InfinoError::Schema(m) => write!(f, "schema: {m}"),
            InfinoError::Cardinality(m) => write!(f, "cardinality: {m}"),
            InfinoError::Io(m) => write!(f, "io: {m}"),
            InfinoError::Query(m) => write!(f, "query: {m}"),
            InfinoError::Backend(m) => write!(f, "backend: {m}"),
        }
    }
}

impl std::error::Error for InfinoError {}

impl From<arrow_schema::ArrowError> for InfinoError {
    fn from(e: arrow_schema::ArrowError) -> Self {
        InfinoError::Schema(e.to_string())
    }
}

/// What an INFINO_ERR_INVALID means depends on the call: bad rows or
/// schema for writes, a bad query for reads.
#[derive(Clone, Copy)]
pub(crate) enum Invalid {
    Schema,
    Query,
}

/// The calling thread's last error message from the C core. Must be
/// called right after the failing call, on the same thread.
pub(crate) fn last_error() -> String {
    // SAFETY: infino_last_error never returns NULL; the text is valid
    // until the next infino_* call on this thread, and we copy it now.
    unsafe { CStr::from_ptr(sys::infino_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// Maps a C status to `Ok(())` or the error it stands for.
pub(crate) fn check(st: sys::infino_status, invalid: Invalid) -> Result<(), InfinoError> {
    if st == sys::INFINO_OK {
        return Ok(());
    }
    let msg = last_error();
    Err(match st {
        sys::INFINO_ERR_NOTFOUND => InfinoError::NotFound(msg),
        sys::INFINO_ERR_EXISTS => InfinoError::AlreadyExists(msg),
        sys::INFINO_ERR_CARDINALITY => InfinoError::Cardinality(msg),
        sys::INFINO_ERR_IO | sys::INFINO_ERR_CORRUPT => InfinoError::Io(msg),
        sys::INFINO_ERR_INVALID => match invalid {
            Invalid::Schema => InfinoError::Schema(msg),
            Invalid::Query => InfinoError::Query(msg),
        },
        sys::INFINO_ERR_NOMEM
        | sys::INFINO_ERR_CONFLICT
        | sys::INFINO_ERR_UNSUPPORTED
        | sys::INFINO_ERR_INTERRUPTED => InfinoError::Backend(msg),
        other => InfinoError::Backend(format!("status {other}: {msg}")),
    })
}

/// The error of [`Supertable::optimize`](crate::Supertable::optimize).
#[non_exhaustive]
#[derive(Debug)]
pub enum OptimizeError {
    /// The table's storage does not support it.
    NoStorage,
    /// Building a merged superfile failed.
    Build(String),
    /// Committing a merged group failed (storage, or a lost race).
    Commit(String),
}

impl fmt::Display for OptimizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptimizeError::NoStorage => write!(f, "optimize requires a storage backend"),
            OptimizeError::Build(m) => write!(f, "failed to build superfile: {m}"),
            OptimizeError::Commit(m) => write!(f, "failed to commit: {m}"),
        }
    }
}

impl std::error::Error for OptimizeError {}

impl From<OptimizeError> for InfinoError {
    fn from(e: OptimizeError) -> Self {
        InfinoError::Backend(e.to_string())
    }
}

impl From<InfinoError> for OptimizeError {
    fn from(e: InfinoError) -> Self {
        match e {
            InfinoError::Io(m) | InfinoError::Backend(m) | InfinoError::NotFound(m) => {
                OptimizeError::Commit(m)
            }
            other => OptimizeError::Build(other.to_string()),
        }
    }
}

/// The error of [`Supertable::gc`](crate::Supertable::gc).
#[non_exhaustive]
#[derive(Debug)]
pub enum GcError {
    /// The table has no durable storage (`memory://`).
    NoStorage,
    /// Listing or deleting files failed.
    Storage(String),
}

impl fmt::Display for GcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GcError::NoStorage => write!(f, "gc requires a storage backend"),
            GcError::Storage(m) => write!(f, "storage error during gc: {m}"),
        }
    }
}

impl std::error::Error for GcError {}

impl From<GcError> for InfinoError {
    fn from(e: GcError) -> Self {
        match e {
            GcError::NoStorage => InfinoError::Backend(e.to_string()),
            GcError::Storage(m) => InfinoError::Io(m),
        }
    }
}

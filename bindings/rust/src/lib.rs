//! The crate documentation is docs/rust.md of the repository, so its
//! examples compile and run as doctests.
#![doc = include_str!("../../../docs/rust.md")]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod connection;
mod error;
mod expr;
mod sys;
mod table;
mod types;

pub use connection::{Connection, connect, connect_with};
pub use error::{GcError, InfinoError, OptimizeError};
pub use table::Supertable;
pub use types::{
    BoolMode, ColdFetchMode, CompactionSettings, ConnectOptions, GcReport, IndexSpec, Metric,
    MutationStats, OptimizeOptions, VectorFilter, VectorSearchOptions,
};

/// Another name for [`Supertable`], the handle of one table.
pub type Table = Supertable;

/// The version of the C core this crate links, as
/// `major * 10000 + minor * 100 + patch`.
pub fn version_number() -> u32 {
    // SAFETY: no arguments, no state.
    unsafe { sys::infino_version_number() }
}

//! Raw declarations of the C API in include/infino.h, written by hand
//! (only what this crate calls). Private: the safe types in the rest of
//! the crate are the only users. The Arrow C Data Interface structs are
//! arrow-rs's own `#[repr(C)]` types, so batches and schemas cross
//! without copying.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int};

use arrow::ffi::FFI_ArrowSchema;
use arrow::ffi_stream::FFI_ArrowArrayStream;

pub type infino_status = c_int;

pub const INFINO_OK: infino_status = 0;
pub const INFINO_ERR_NOMEM: infino_status = -1;
pub const INFINO_ERR_IO: infino_status = -2;
pub const INFINO_ERR_CORRUPT: infino_status = -3;
pub const INFINO_ERR_INVALID: infino_status = -4;
pub const INFINO_ERR_NOTFOUND: infino_status = -5;
pub const INFINO_ERR_CONFLICT: infino_status = -6;
pub const INFINO_ERR_UNSUPPORTED: infino_status = -7;
pub const INFINO_ERR_EXISTS: infino_status = -8;
pub const INFINO_ERR_CARDINALITY: infino_status = -9;
pub const INFINO_ERR_INTERRUPTED: infino_status = -10;

#[repr(C)]
pub struct infino_db {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct infino_table {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct infino_index_spec {
    _opaque: [u8; 0],
}

#[repr(C)]
pub struct infino_storage_option {
    pub key: *const c_char,
    pub value: *const c_char,
}

/// Version 3 of the struct (storage options and the read cache).
#[repr(C)]
pub struct infino_connect_opts {
    pub version: u32,
    pub tmp_dir: *const c_char,
    pub build_memory_bytes: u64,
    pub storage_options: *const infino_storage_option,
    pub n_storage_options: usize,
    pub cache_dir: *const c_char,
    pub cache_budget_bytes: u64,
    pub cold_fetch_mode: *const c_char,
}

#[repr(C)]
#[derive(Default)]
pub struct infino_mutation_stats {
    pub matched: u64,
    pub n_tombstoned: u64,
    pub n_not_found: u64,
}

#[repr(C)]
pub struct infino_optimize_opts {
    pub version: u32,
    pub max_memory_mb: u64,
    pub min_fill_percent: i32,
    pub target_superfile_mb: u64,
}

#[repr(C)]
#[derive(Default)]
pub struct infino_gc_report {
    pub bytes_freed: u64,
    pub objects_deleted: u64,
    pub objects_skipped_live: u64,
    pub objects_skipped_too_new: u64,
    pub delete_errors: u64,
}

#[repr(C)]
pub struct infino_search_opts {
    pub version: u32,
    pub mode: *const c_char,
    pub projection: *const *const c_char,
    pub n_projection: usize,
    pub nprobe: u32,
    pub filter_column: *const c_char,
    pub filter_query: *const c_char,
    pub filter_mode: *const c_char,
}

unsafe extern "C" {
    pub fn infino_last_error() -> *const c_char;
    pub fn infino_version_number() -> u32;

    pub fn infino_connect(
        out: *mut *mut infino_db,
        uri: *const c_char,
        opts: *const infino_connect_opts,
    ) -> infino_status;
    pub fn infino_db_close(db: *mut infino_db);

    pub fn infino_index_spec_new(out: *mut *mut infino_index_spec) -> infino_status;
    pub fn infino_index_spec_free(s: *mut infino_index_spec);
    pub fn infino_index_spec_fts(s: *mut infino_index_spec, column: *const c_char)
    -> infino_status;
    pub fn infino_index_spec_vector(
        s: *mut infino_index_spec,
        column: *const c_char,
        dim: u32,
        n_centroids: u32,
        metric: *const c_char,
    ) -> infino_status;

    pub fn infino_create_table(
        out: *mut *mut infino_table,
        db: *mut infino_db,
        name: *const c_char,
        schema: *const FFI_ArrowSchema,
        spec: *const infino_index_spec,
    ) -> infino_status;
    pub fn infino_open_table(
        out: *mut *mut infino_table,
        db: *mut infino_db,
        name: *const c_char,
    ) -> infino_status;
    pub fn infino_drop_table(
        db: *mut infino_db,
        name: *const c_char,
        purge: c_int,
    ) -> infino_status;
    pub fn infino_list_tables(
        db: *mut infino_db,
        names_out: *mut *mut *mut c_char,
        n_out: *mut usize,
    ) -> infino_status;
    pub fn infino_free_names(names: *mut *mut c_char, n: usize);

    pub fn infino_table_close(t: *mut infino_table);
    pub fn infino_table_schema(t: *const infino_table, out: *mut FFI_ArrowSchema) -> infino_status;
    pub fn infino_table_append(
        t: *mut infino_table,
        rows: *mut FFI_ArrowArrayStream,
        n_rows_out: *mut u64,
    ) -> infino_status;
    pub fn infino_table_delete(
        t: *mut infino_table,
        predicate: *const c_char,
        out: *mut infino_mutation_stats,
    ) -> infino_status;
    pub fn infino_table_update(
        t: *mut infino_table,
        predicate: *const c_char,
        rows: *mut FFI_ArrowArrayStream,
        out: *mut infino_mutation_stats,
    ) -> infino_status;
    pub fn infino_table_optimize(
        t: *mut infino_table,
        o: *const infino_optimize_opts,
    ) -> infino_status;
    pub fn infino_table_gc(
        t: *mut infino_table,
        grace_secs: f64,
        out: *mut infino_gc_report,
    ) -> infino_status;

    pub fn infino_table_bm25_search(
        t: *mut infino_table,
        column: *const c_char,
        query: *const c_char,
        query_len: usize,
        k: usize,
        o: *const infino_search_opts,
        out: *mut FFI_ArrowArrayStream,
    ) -> infino_status;
    pub fn infino_table_vector_search(
        t: *mut infino_table,
        column: *const c_char,
        query: *const f32,
        dim: usize,
        k: usize,
        o: *const infino_search_opts,
        out: *mut FFI_ArrowArrayStream,
    ) -> infino_status;
    pub fn infino_table_hybrid_search(
        t: *mut infino_table,
        text_column: *const c_char,
        text_query: *const c_char,
        text_query_len: usize,
        vector_column: *const c_char,
        vector_query: *const f32,
        dim: usize,
        k: usize,
        o: *const infino_search_opts,
        out: *mut FFI_ArrowArrayStream,
    ) -> infino_status;
    pub fn infino_table_token_match(
        t: *mut infino_table,
        column: *const c_char,
        query: *const c_char,
        query_len: usize,
        o: *const infino_search_opts,
        out: *mut FFI_ArrowArrayStream,
    ) -> infino_status;
    pub fn infino_table_exact_match(
        t: *mut infino_table,
        column: *const c_char,
        value: *const c_char,
        value_len: usize,
        o: *const infino_search_opts,
        out: *mut FFI_ArrowArrayStream,
    ) -> infino_status;
    pub fn infino_table_count(
        t: *mut infino_table,
        column: *const c_char,
        query: *const c_char,
        query_len: usize,
        mode: *const c_char,
        out: *mut u64,
    ) -> infino_status;

    pub fn infino_query_sql(
        db: *mut infino_db,
        sql: *const c_char,
        out: *mut FFI_ArrowArrayStream,
    ) -> infino_status;

}

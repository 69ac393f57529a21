//! Helpers the integration tests share: scratch folders under the
//! crate's target directory, and row counting.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::{Array, Decimal128Array, RecordBatch};

/// A fresh, empty folder for one test's database, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        // CARGO_TARGET_TMPDIR: a folder cargo gives integration tests.
        let p = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create scratch folder");
        Scratch(p)
    }

    pub fn uri(&self) -> &str {
        self.0.to_str().expect("UTF-8 path")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn n_rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

/// The `_id` values of every batch (decimal128(38, 0)), sorted.
pub fn ids(batches: &[RecordBatch]) -> Vec<i128> {
    let mut out = Vec::new();
    for b in batches {
        let c = b
            .column_by_name("_id")
            .expect("an _id column")
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .expect("_id is decimal128");
        for i in 0..c.len() {
            out.push(c.value(i));
        }
    }
    out.sort_unstable();
    out
}

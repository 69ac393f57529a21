//! The table lifecycle of the documentation's "Tables" page, in Rust:
//! create on durable storage, append, open again, update and delete with
//! `col(...).eq(lit(...))`, optimize, list, drop with purge.

mod common;

use std::sync::Arc;

use arrow_array::{FixedSizeListArray, Float32Array, LargeStringArray, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use datafusion_expr::{col, lit};
use infino::{BoolMode, IndexSpec, InfinoError, Metric, OptimizeOptions, connect};

use common::{Scratch, n_rows};

const DIM: usize = 384;

/// A stand-in for an embedding model: a unit vector per topic.
fn embed(topic: usize) -> Vec<f32> {
    let mut v = vec![0.0f32; DIM];
    v[topic % DIM] = 1.0;
    v
}

fn rows(schema: &SchemaRef, docs: &[(&str, &str, usize)]) -> RecordBatch {
    let item = Arc::new(Field::new("item", DataType::Float32, true));
    let flat: Vec<f32> = docs.iter().flat_map(|d| embed(d.2)).collect();
    RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(LargeStringArray::from(
                docs.iter().map(|d| d.0).collect::<Vec<_>>(),
            )),
            Arc::new(LargeStringArray::from(
                docs.iter().map(|d| d.1).collect::<Vec<_>>(),
            )),
            Arc::new(FixedSizeListArray::new(
                item,
                DIM as i32,
                Arc::new(Float32Array::from(flat)),
                None,
            )),
        ],
    )
    .expect("batch")
}

#[test]
fn tables_page_lifecycle() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Scratch::new("lifecycle");
    // Durable storage, required for update and delete.
    let db = connect(dir.uri())?;

    let item = Arc::new(Field::new("item", DataType::Float32, true));
    let schema = Arc::new(Schema::new(vec![
        Field::new("doc_id", DataType::LargeUtf8, false),
        Field::new("body", DataType::LargeUtf8, false),
        Field::new(
            "embedding",
            DataType::FixedSizeList(item, DIM as i32),
            false,
        ),
    ]));
    let docs = db.create_table(
        "docs",
        schema.clone(),
        IndexSpec::new()
            .fts("body")
            .vector("embedding", DIM, 64, Metric::Cosine),
    )?;

    // One append is one atomic commit, durable when the call returns.
    docs.append(&rows(
        &schema,
        &[
            ("1", "To cancel, open Settings then Billing.", 0),
            ("2", "Dark mode lives under Settings then Appearance.", 1),
        ],
    ))?;
    drop(docs);

    // A table persists: open it again (here through a new connection).
    drop(db);
    let db = connect(dir.uri())?;
    let docs = db.open_table("docs")?;
    assert_eq!(docs.count("body", "cancel", BoolMode::Or)?, 1);

    // Replace the row(s) matching the predicate, 1:1 with the new rows.
    let stats = docs.update(
        col("doc_id").eq(lit("1")),
        &rows(
            &schema,
            &[("1", "Refunds go to the original payment method.", 2)],
        ),
    )?;
    assert_eq!((stats.matched(), stats.n_tombstoned()), (1, 1));
    assert_eq!(docs.count("body", "cancel", BoolMode::Or)?, 0);
    assert_eq!(docs.count("body", "refunds", BoolMode::Or)?, 1);
    let hits = docs.vector_search(
        "embedding",
        &embed(2),
        1,
        infino::VectorSearchOptions::new(),
        None,
        Some(&["doc_id"]),
    )?;
    assert_eq!(n_rows(&hits), 1);

    // update is 1:1: a count mismatch changes nothing.
    let err = docs
        .update(
            col("doc_id").eq(lit("1")),
            &rows(&schema, &[("1", "a", 3), ("1", "b", 4)]),
        )
        .expect_err("two rows for one match");
    assert!(matches!(err, InfinoError::Cardinality(_)), "{err}");

    // Delete rows matching a predicate.
    let stats = docs.delete(col("doc_id").eq(lit("1")))?;
    assert_eq!(
        (stats.matched(), stats.n_tombstoned(), stats.n_not_found()),
        (1, 1, 0)
    );
    let left = db.query_sql("SELECT doc_id FROM docs")?;
    assert_eq!(n_rows(&left), 1);

    // Compact, list, and drop.
    docs.optimize(&OptimizeOptions::default())?;
    assert_eq!(docs.count("body", "settings", BoolMode::Or)?, 1);
    assert_eq!(db.list_tables()?, ["docs"]);
    drop(docs);
    db.drop_table("docs", true)?;
    assert!(db.list_tables()?.is_empty());
    assert!(matches!(
        db.open_table("docs"),
        Err(InfinoError::NotFound(_))
    ));
    Ok(())
}

#[test]
fn mutations_need_durable_storage() -> Result<(), Box<dyn std::error::Error>> {
    let db = connect("memory://")?;
    let schema = Arc::new(Schema::new(vec![Field::new(
        "doc_id",
        DataType::LargeUtf8,
        false,
    )]));
    let t = db.create_table("t", schema.clone(), IndexSpec::new())?;
    t.append(&RecordBatch::try_new(
        schema,
        vec![Arc::new(LargeStringArray::from(vec!["1"]))],
    )?)?;
    let err = t.delete(col("doc_id").eq(lit("1"))).expect_err("memory://");
    assert!(matches!(err, InfinoError::Backend(_)), "{err}");
    // upstream refuses gc on memory://; ours collects (docs/differences.md)
    assert_eq!(t.gc(std::time::Duration::ZERO)?.delete_errors, 0);
    Ok(())
}

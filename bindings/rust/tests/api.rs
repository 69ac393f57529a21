//! The public API end to end: catalog calls, every search, SQL, errors,
//! optimize and gc, and one handle shared by searching and appending
//! threads.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arrow_array::{
    Array, Decimal128Array, FixedSizeListArray, Float32Array, Int64Array, LargeStringArray,
    RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use infino::{
    BoolMode, CompactionSettings, ConnectOptions, Connection, IndexSpec, InfinoError, Metric,
    OptimizeOptions, Supertable, VectorFilter, VectorSearchOptions, connect, connect_with,
};

use common::{Scratch, ids, n_rows};

const DIM: usize = 16;

fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}

#[test]
fn handles_are_send_sync_and_clone() {
    assert_send_sync::<Connection>();
    assert_send_sync::<Supertable>();
}

fn embed(topic: usize) -> Vec<f32> {
    let mut v = vec![0.0f32; DIM];
    v[topic % DIM] = 1.0;
    v
}

fn docs_schema() -> SchemaRef {
    let item = Arc::new(Field::new("item", DataType::Float32, true));
    Arc::new(Schema::new(vec![
        Field::new("source", DataType::LargeUtf8, false),
        Field::new("body", DataType::LargeUtf8, false),
        Field::new("n", DataType::Int64, false),
        Field::new(
            "embedding",
            DataType::FixedSizeList(item, DIM as i32),
            false,
        ),
    ]))
}

fn docs_batch(schema: &SchemaRef, rows: &[(&str, &str, i64, usize)]) -> RecordBatch {
    let item = Arc::new(Field::new("item", DataType::Float32, true));
    let flat: Vec<f32> = rows.iter().flat_map(|r| embed(r.3)).collect();
    RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(LargeStringArray::from(
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            )),
            Arc::new(LargeStringArray::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
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

const ROWS: &[(&str, &str, i64, usize)] = &[
    (
        "help",
        "To cancel a subscription, open Settings then Billing.",
        1,
        0,
    ),
    (
        "help",
        "Refunds return to the original payment method.",
        2,
        0,
    ),
    (
        "blog",
        "Enable dark mode under Settings then Appearance.",
        3,
        1,
    ),
    ("blog", "Billing cycles renew monthly.", 4, 2),
];

fn docs_table(db: &Connection) -> Supertable {
    let schema = docs_schema();
    let t = db
        .create_table(
            "docs",
            schema.clone(),
            IndexSpec::new()
                .fts("body")
                .vector("embedding", DIM, 1, Metric::Cosine),
        )
        .expect("create");
    t.append(&docs_batch(&schema, ROWS)).expect("append");
    t
}

fn column<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> &'a T {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_any()
        .downcast_ref::<T>()
        .unwrap_or_else(|| {
            panic!(
                "{name} has type {}",
                b.column_by_name(name).unwrap().data_type()
            )
        })
}

#[test]
fn searches_return_arrow_rows() {
    let db = connect("memory://").expect("connect");
    let t = docs_table(&db);
    assert_eq!(t.schema(), docs_schema());

    // BM25: _id and score by default, best first.
    let hits = t
        .bm25_search("body", "billing", 10, BoolMode::Or, None)
        .expect("bm25");
    assert_eq!(n_rows(&hits), 2);
    let b = &hits[0];
    assert_eq!(b.schema().field(0).name(), "_id");
    assert_eq!(
        b.schema().field(0).data_type(),
        &DataType::Decimal128(38, 0)
    );
    assert_eq!(b.schema().field(1).name(), "score");
    let scores = column::<Float32Array>(b, "score");
    assert!(scores.value(0) >= scores.value(1));

    // AND mode and a projection in the given order.
    let hits = t
        .bm25_search(
            "body",
            "settings billing",
            10,
            BoolMode::And,
            Some(&["n", "body", "score"]),
        )
        .expect("bm25 and");
    assert_eq!(n_rows(&hits), 1);
    assert_eq!(column::<Int64Array>(&hits[0], "n").value(0), 1);
    assert_eq!(hits[0].schema().field(0).name(), "n");

    // Vector kNN, nearest first; with a full-text pre-filter.
    let knn = t
        .vector_search(
            "embedding",
            &embed(1),
            2,
            VectorSearchOptions::new().with_nprobe(1),
            None,
            Some(&["n", "score"]),
        )
        .expect("knn");
    assert_eq!(column::<Int64Array>(&knn[0], "n").value(0), 3);
    let filtered = t
        .vector_search(
            "embedding",
            &embed(1),
            10,
            VectorSearchOptions::new(),
            Some(VectorFilter {
                column: "body",
                query: "refunds",
                mode: BoolMode::Or,
            }),
            Some(&["n"]),
        )
        .expect("filtered");
    assert_eq!(n_rows(&filtered), 1);
    assert_eq!(column::<Int64Array>(&filtered[0], "n").value(0), 2);

    // Hybrid: fused ranking, both retrievers agree on row n=4 here.
    let hybrid = t
        .hybrid_search(
            "body",
            "monthly",
            BoolMode::Or,
            "embedding",
            &embed(2),
            VectorSearchOptions::new(),
            3,
            Some(&["n"]),
        )
        .expect("hybrid");
    assert_eq!(column::<Int64Array>(&hybrid[0], "n").value(0), 4);

    // Unranked matches and counts.
    let tm = t
        .token_match("body", "settings", BoolMode::Or, None)
        .expect("token_match");
    assert_eq!(n_rows(&tm), 2);
    assert_eq!(column::<Float32Array>(&tm[0], "score").value(0), 0.0);
    let e = t.exact_match("source", "blog", Some(&["n"])).unwrap_err();
    assert!(
        matches!(e, InfinoError::Query(ref m) if m.contains("source")),
        "{e}"
    );
    let em = t
        .exact_match("body", "Billing cycles renew monthly.", Some(&["n"]))
        .expect("exact_match");
    assert_eq!(column::<Int64Array>(&em[0], "n").value(0), 4);
    assert_eq!(t.count("body", "settings", BoolMode::Or).expect("count"), 2);
    assert_eq!(
        t.count("body", "settings dark", BoolMode::And)
            .expect("count"),
        1
    );

    // SQL over the catalog and the search table functions.
    let rows = db
        .query_sql("SELECT source, count(*) AS c FROM docs GROUP BY source ORDER BY source")
        .expect("sql");
    assert_eq!(n_rows(&rows), 2);
    let src = rows[0].column(0);
    let src = src
        .as_any()
        .downcast_ref::<LargeStringArray>()
        .map(|a| a.value(0).to_string())
        .or_else(|| {
            src.as_any()
                .downcast_ref::<StringArray>()
                .map(|a| a.value(0).to_string())
        })
        .expect("text");
    assert_eq!(src, "blog");
    let rows = db
        .query_sql("SELECT _id FROM bm25_search('docs', 'body', 'billing', 10)")
        .expect("tvf");
    assert_eq!(
        ids(&rows),
        ids(&t
            .bm25_search("body", "billing", 10, BoolMode::Or, None)
            .unwrap())
    );
}

#[test]
fn errors_have_upstream_kinds() {
    let db = connect("memory://").expect("connect");
    let t = docs_table(&db);
    let e = db
        .create_table("docs", docs_schema(), IndexSpec::new())
        .unwrap_err();
    assert!(matches!(e, InfinoError::AlreadyExists(_)), "{e}");
    let e = db.open_table("nope").unwrap_err();
    assert!(matches!(e, InfinoError::NotFound(_)), "{e}");
    let e = db.drop_table("nope", false).unwrap_err();
    assert!(matches!(e, InfinoError::NotFound(_)), "{e}");
    // A vector column that is not what the spec says.
    let e = db
        .create_table(
            "bad",
            docs_schema(),
            IndexSpec::new().vector("embedding", DIM + 1, 1, Metric::L2Sq),
        )
        .unwrap_err();
    assert!(
        matches!(e, InfinoError::Schema(ref m) if m.contains("embedding")),
        "{e}"
    );
    // Rows that do not fit the schema.
    let other = Arc::new(Schema::new(vec![Field::new(
        "body",
        DataType::Int64,
        false,
    )]));
    let e = t
        .append(&RecordBatch::try_new(other, vec![Arc::new(Int64Array::from(vec![1]))]).unwrap())
        .unwrap_err();
    assert!(
        matches!(e, InfinoError::Schema(ref m) if m.contains("column")),
        "{e}"
    );
    let e = t
        .bm25_search("nope", "x", 1, BoolMode::Or, None)
        .unwrap_err();
    assert!(matches!(e, InfinoError::Query(_)), "{e}");
    let e = t
        .vector_search(
            "embedding",
            &[1.0; 3],
            1,
            VectorSearchOptions::new(),
            None,
            None,
        )
        .unwrap_err();
    assert!(matches!(e, InfinoError::Query(_)), "{e}");
    let e = db.query_sql("SELEC 1").unwrap_err();
    assert!(matches!(e, InfinoError::Query(_)), "{e}");
    // Display carries upstream's prefixes.
    assert!(
        InfinoError::NotFound("t".into())
            .to_string()
            .starts_with("not found: ")
    );
}

#[test]
fn connect_options() {
    // Storage options are checked at connect; nothing is contacted.
    connect_with(
        "s3://no-such-bucket-xyzzy/prefix",
        ConnectOptions::new()
            .with_storage_option("aws_region", "us-east-1")
            .with_cache_dir(std::env::temp_dir().join("infino-rust-cache-unused"))
            .with_cache_budget_bytes(1 << 20)
            .with_cold_fetch_mode(infino::ColdFetchMode::RangeOnly)
            .with_connection_memory_budget_bytes(1 << 30),
    )
    .expect("no probe by default");
    let e = connect_with(
        "s3://b/p",
        ConnectOptions::new().with_storage_option("not_a_real_key", "x"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("not_a_real_key"), "{e}");
    assert!(connect("ftp://x/y").is_err());
    // validate reads the catalog: fine for a local folder.
    let dir = Scratch::new("validate");
    connect_with(dir.uri(), ConnectOptions::new().with_validate(true)).expect("validate");
}

#[test]
fn optimize_and_gc_on_a_folder() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Scratch::new("optimize");
    let db = connect(dir.uri())?;
    let t = docs_table(&db);
    let schema = docs_schema();
    for i in 0..3 {
        t.append(&docs_batch(
            &schema,
            &[("x", "more billing text", 10 + i, 3)],
        ))?;
    }
    assert_eq!(t.count("body", "billing", BoolMode::Or)?, 5);
    t.optimize(&OptimizeOptions::compact(CompactionSettings {
        min_fill_percent: 100,
        ..CompactionSettings::default()
    }))?;
    assert_eq!(t.count("body", "billing", BoolMode::Or)?, 5);
    let report = t.gc(Duration::ZERO)?;
    assert!(report.objects_deleted > 0, "{report:?}");
    assert_eq!(report.delete_errors, 0);
    assert_eq!(t.count("body", "billing", BoolMode::Or)?, 5);
    Ok(())
}

/// Searches from many threads on one shared handle while another thread
/// appends through it: every search sees a whole snapshot (its count of
/// matches only grows, by whole appends), and nothing fails.
#[test]
fn searches_from_many_threads_while_appending() {
    let dir = Scratch::new("threads");
    let db = connect(dir.uri()).expect("connect");
    let t = docs_table(&db);
    let schema = docs_schema();
    const APPENDS: i64 = 20;
    const PER_APPEND: usize = 5;
    let done = Arc::new(AtomicBool::new(false));

    let writer = {
        let t = t.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            for i in 0..APPENDS {
                let rows: Vec<(&str, &str, i64, usize)> = (0..PER_APPEND)
                    .map(|j| ("w", "thread billing", 100 + i * 10 + j as i64, 5))
                    .collect();
                t.append(&docs_batch(&schema, &rows)).expect("append");
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let readers: Vec<_> = (0..6)
        .map(|r| {
            let t = t.clone();
            let db = db.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut last = 0u64;
                let mut n_calls = 0;
                while !done.load(Ordering::SeqCst) || n_calls < 3 {
                    let n = t.count("body", "billing", BoolMode::Or).expect("count");
                    assert!(
                        n >= last && (n - 2).is_multiple_of(PER_APPEND as u64),
                        "count {n} after {last}"
                    );
                    last = n;
                    match r % 3 {
                        0 => {
                            let hits = t
                                .bm25_search("body", "billing", 1000, BoolMode::Or, None)
                                .expect("bm25");
                            assert!(n_rows(&hits) as u64 >= n);
                        }
                        1 => {
                            let hits = t
                                .vector_search(
                                    "embedding",
                                    &embed(5),
                                    3,
                                    VectorSearchOptions::new(),
                                    None,
                                    None,
                                )
                                .expect("knn");
                            assert!(n_rows(&hits) <= 3);
                        }
                        _ => {
                            let rows = db.query_sql("SELECT count(*) FROM docs").expect("sql");
                            assert_eq!(n_rows(&rows), 1);
                        }
                    }
                    n_calls += 1;
                }
                n_calls
            })
        })
        .collect();
    writer.join().expect("writer");
    for r in readers {
        assert!(r.join().expect("reader") >= 3);
    }
    assert_eq!(
        t.count("body", "billing", BoolMode::Or).unwrap(),
        2 + (APPENDS as u64) * PER_APPEND as u64
    );
    // The _id column of results is the engine's decimal128(38, 0).
    let hits = t
        .bm25_search("body", "thread", 1, BoolMode::Or, None)
        .unwrap();
    assert!(column::<Decimal128Array>(&hits[0], "_id").value(0) > 0);
}

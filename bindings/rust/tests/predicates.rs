//! update/delete predicates given as DataFusion `Expr`s select the same
//! rows as the same predicate written by hand as SQL text, for every
//! literal type our tables hold and every operator the renderer knows.
//!
//! Each case gets a fresh table holding the same six rows; the rows the
//! SQL text selects are read with `query_sql`, then `delete(expr)` must
//! report that many matches and leave exactly the other rows. Each case
//! also states how many rows DataFusion's own semantics select, so a
//! wrong hand-written SQL text cannot pass unnoticed.

mod common;

use std::sync::Arc;

use arrow::datatypes::i256;
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int32Array, Int64Array, LargeStringArray, RecordBatch, StringArray, TimestampMicrosecondArray,
    TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use datafusion_common::ScalarValue;
use datafusion_expr::{Expr, Operator, binary_expr, cast, col, lit, when};
use infino::{Connection, IndexSpec, InfinoError, connect};

use common::{Scratch, ids, n_rows};

/// half's f16, as arrow names it (arrow does not re-export the type).
type F16 = <arrow_array::types::Float16Type as arrow_array::ArrowPrimitiveType>::Native;

fn fixture() -> RecordBatch {
    let utc: Option<Arc<str>> = Some("UTC".into());
    let cols: Vec<(&str, ArrayRef)> = vec![
        (
            "b",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                Some(false),
                None,
                Some(true),
                Some(false),
                Some(true),
            ])),
        ),
        (
            "i32",
            Arc::new(Int32Array::from(vec![
                Some(1),
                Some(2),
                Some(3),
                None,
                Some(5),
                Some(6),
            ])),
        ),
        (
            "i64",
            Arc::new(Int64Array::from(vec![-5, 10, 0, 7, i64::MIN, 100])),
        ),
        (
            "u64",
            Arc::new(UInt64Array::from(vec![
                Some(u64::MAX),
                Some(1),
                Some(2),
                None,
                Some(3),
                Some(1 << 63),
            ])),
        ),
        (
            "f32",
            Arc::new(Float32Array::from(vec![
                0.1,
                1.5,
                -2.0,
                f32::NAN,
                f32::INFINITY,
                0.0,
            ])),
        ),
        (
            "f64",
            Arc::new(Float64Array::from(vec![
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                -0.5,
                2.5,
                1e300,
            ])),
        ),
        (
            "s",
            Arc::new(StringArray::from(vec![
                "it's", "Apple", "apple", "a*b[c]", "x_y", "",
            ])),
        ),
        (
            "ls",
            Arc::new(LargeStringArray::from(vec![
                Some("alpha"),
                Some("beta"),
                Some("a%b"),
                None,
                Some("gamma"),
                Some("delta"),
            ])),
        ),
        (
            "bin",
            Arc::new(BinaryArray::from_opt_vec(vec![
                Some(&[0x00, 0xff][..]),
                Some(b"A"),
                Some(b""),
                None,
                Some(&[1, 2, 3][..]),
                Some(b"'"),
            ])),
        ),
        (
            "d",
            Arc::new(Date32Array::from(vec![
                Some(0),
                Some(-719_162), // 0001-01-01
                Some(20_000),   // 2024-10-04
                None,
                Some(-735_000), // a date before year 1
                Some(19_000),
            ])),
        ),
        (
            "ts_s",
            Arc::new(TimestampSecondArray::from(vec![
                Some(0),
                Some(86_400),
                Some(-86_400),
                None,
                Some(253_402_300_800), // 10000-01-01
                Some(1_000_000_000),
            ])),
        ),
        (
            "ts_ms",
            Arc::new(
                TimestampMillisecondArray::from(vec![
                    Some(1_500),
                    Some(0),
                    None,
                    Some(1),
                    Some(2),
                    Some(3),
                ])
                .with_timezone_opt(utc.clone()),
            ),
        ),
        (
            "ts_us",
            Arc::new(TimestampMicrosecondArray::from(vec![
                -1, 0, 1_000_000, 5, 6, 7,
            ])),
        ),
        (
            "ts_ns",
            Arc::new(
                TimestampNanosecondArray::from(vec![1_700_000_000_123_456_789, 0, 1, 2, 3, 4])
                    .with_timezone_opt(utc),
            ),
        ),
        (
            "dec",
            Arc::new(
                Decimal128Array::from(vec![
                    Some(12_345),
                    Some(-5),
                    Some(10_000_000_000_000_000_001),
                    None,
                    Some(0),
                    Some(9_999),
                ])
                .with_precision_and_scale(20, 2)
                .expect("valid decimal type"),
            ),
        ),
    ];
    let schema = Arc::new(Schema::new(
        cols.iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    RecordBatch::try_new(schema, cols.into_iter().map(|(_, a)| a).collect()).expect("fixture")
}

fn ts(unit: TimeUnit, v: i64, tz: Option<&str>) -> Expr {
    let tz: Option<Arc<str>> = tz.map(Into::into);
    lit(match unit {
        TimeUnit::Second => ScalarValue::TimestampSecond(Some(v), tz),
        TimeUnit::Millisecond => ScalarValue::TimestampMillisecond(Some(v), tz),
        TimeUnit::Microsecond => ScalarValue::TimestampMicrosecond(Some(v), tz),
        TimeUnit::Nanosecond => ScalarValue::TimestampNanosecond(Some(v), tz),
    })
}

fn dec(v: i128, p: u8, s: i8) -> Expr {
    lit(ScalarValue::Decimal128(Some(v), p, s))
}

fn date(days: i32) -> Expr {
    lit(ScalarValue::Date32(Some(days)))
}

/// (what, the Expr, the same predicate as SQL text, rows DataFusion selects)
fn cases() -> Vec<(&'static str, Expr, &'static str, usize)> {
    vec![
        // booleans
        ("bool literal", col("b").eq(lit(true)), "b <> 0", 3),
        ("IS FALSE", col("b").is_false(), "b = 0", 2),
        (
            "IS NOT TRUE",
            col("b").is_not_true(),
            "b IS NULL OR b = 0",
            3,
        ),
        ("IS TRUE", col("b").is_true(), "b = 1", 3),
        ("IS UNKNOWN", col("b").is_unknown(), "b IS NULL", 1),
        // integers of every width as literals
        ("int32 >", col("i32").gt(lit(2i32)), "i32 > 2", 3),
        ("IS NULL", col("i32").is_null(), "i32 IS NULL", 1),
        ("IS NOT NULL", col("ls").is_not_null(), "ls IS NOT NULL", 5),
        ("int8 literal", col("i32").eq(lit(5i8)), "i32 = 5", 1),
        ("int16 literal", col("i32").eq(lit(6i16)), "i32 = 6", 1),
        ("uint8 literal", col("i32").eq(lit(1u8)), "i32 = 1", 1),
        ("uint16 literal", col("i32").eq(lit(2u16)), "i32 = 2", 1),
        ("uint32 literal", col("i32").eq(lit(3u32)), "i32 = 3", 1),
        ("int64 <", col("i64").lt(lit(0i64)), "i64 < 0", 2),
        (
            "int64 min",
            col("i64").eq(lit(i64::MIN)),
            "i64 = -9223372036854775808",
            1,
        ),
        (
            "uint64 max",
            col("u64").eq(lit(u64::MAX)),
            "u64 = 18446744073709551615",
            1,
        ),
        (
            "uint64 past int64",
            col("u64").gt(lit(i64::MAX as u64)),
            "u64 > 9223372036854775807",
            2,
        ),
        (
            "NOT IN (uint64)",
            col("u64").in_list(vec![lit(u64::MAX), lit(1u64)], true),
            "u64 NOT IN (18446744073709551615, 1)",
            3,
        ),
        // floats: exact values, NaN and infinities
        (
            "float32 0.1",
            col("f32").eq(lit(0.1f32)),
            "f32 = 0.10000000149011612",
            1,
        ),
        (
            "float64 vs float32 column",
            col("f32").eq(lit(1.5f64)),
            "f32 = 1.5",
            1,
        ),
        (
            "float32 NaN",
            col("f32").eq(lit(f32::NAN)),
            "f32 = 'NaN'",
            1,
        ),
        (
            "float32 +inf",
            col("f32").eq(lit(f32::INFINITY)),
            "f32 = 1e999",
            1,
        ),
        (
            "NaN sorts above +inf",
            col("f32").gt(lit(1e30f32)),
            "f32 > 1e30",
            2,
        ),
        (
            "float64 -inf",
            col("f64").eq(lit(f64::NEG_INFINITY)),
            "f64 = -1e999",
            1,
        ),
        (
            "float64 NaN",
            col("f64").eq(lit(f64::NAN)),
            "f64 = 'NaN'",
            1,
        ),
        ("float64 large", col("f64").gt(lit(1e299)), "f64 > 1e299", 3),
        (
            "float64 negative",
            col("f64").eq(lit(-0.5f64)),
            "f64 = -0.5",
            1,
        ),
        (
            "float16 literal",
            col("f64").eq(lit(ScalarValue::Float16(Some(F16::from_f32(2.5))))),
            "f64 = 2.5",
            1,
        ),
        // strings
        (
            "string with a quote",
            col("s").eq(lit("it's")),
            "s = 'it''s'",
            1,
        ),
        ("empty string", col("s").eq(lit("")), "s = ''", 1),
        (
            "large utf8 literal",
            col("ls").eq(lit(ScalarValue::LargeUtf8(Some("a%b".into())))),
            "ls = 'a%b'",
            1,
        ),
        (
            "utf8 view literal",
            col("s").eq(lit(ScalarValue::Utf8View(Some("Apple".into())))),
            "s = 'Apple'",
            1,
        ),
        (
            "dictionary literal",
            col("s").eq(lit(ScalarValue::Dictionary(
                Box::new(DataType::Int32),
                Box::new(ScalarValue::from("apple")),
            ))),
            "s = 'apple'",
            1,
        ),
        (
            "IN (strings)",
            col("s").in_list(vec![lit("Apple"), lit("")], false),
            "s IN ('Apple', '')",
            2,
        ),
        ("string <", col("s").lt(lit("a")), "s < 'a'", 2),
        // LIKE is case-sensitive in DataFusion; ILIKE is not
        ("LIKE", col("s").like(lit("a%")), "s GLOB 'a*'", 2),
        ("ILIKE", col("s").ilike(lit("%PPLE")), "s LIKE '%pple'", 2),
        ("LIKE _", col("s").like(lit("x_y")), "s = 'x_y'", 1),
        (
            "LIKE escaped *",
            col("s").like(lit("a*b%")),
            "s GLOB 'a[*]b*'",
            1,
        ),
        (
            "LIKE escaped %",
            col("ls").like(lit("a\\%b")),
            "ls = 'a%b'",
            1,
        ),
        (
            "NOT LIKE",
            col("s").not_like(lit("%a%")),
            "s NOT GLOB '*a*'",
            4,
        ),
        (
            "LIKE operator",
            binary_expr(col("ls"), Operator::LikeMatch, lit("%ta")),
            "ls GLOB '*ta'",
            2,
        ),
        // binary
        (
            "binary",
            col("bin").eq(lit(ScalarValue::Binary(Some(vec![0x00, 0xff])))),
            "bin = X'00FF'",
            1,
        ),
        (
            "binary quote",
            col("bin").eq(lit(&b"'"[..])),
            "bin = X'27'",
            1,
        ),
        (
            "large binary",
            col("bin").eq(lit(ScalarValue::LargeBinary(Some(vec![1, 2, 3])))),
            "bin = X'010203'",
            1,
        ),
        (
            "fixed-size binary",
            col("bin").eq(lit(ScalarValue::FixedSizeBinary(1, Some(b"A".to_vec())))),
            "bin = X'41'",
            1,
        ),
        (
            "empty binary",
            col("bin").eq(lit(ScalarValue::Binary(Some(vec![])))),
            "bin = X''",
            1,
        ),
        // dates
        (
            "date32 year 1",
            col("d").eq(date(-719_162)),
            "d = '0001-01-01'",
            1,
        ),
        (
            "date32 before year 1",
            col("d").lt(date(-719_162)),
            "d < '0001-01-01'",
            1,
        ),
        (
            "date32 BETWEEN",
            col("d").between(date(0), date(20_000)),
            "d BETWEEN '1970-01-01' AND '2024-10-04'",
            3,
        ),
        (
            "date64 literal",
            col("d").eq(lit(ScalarValue::Date64(Some(0)))),
            "d = '1970-01-01'",
            1,
        ),
        // timestamps, every unit, with and without zones
        (
            "timestamp s",
            col("ts_s").gt(ts(TimeUnit::Second, 0, None)),
            "ts_s > '1970-01-01T00:00:00Z'",
            3,
        ),
        (
            "timestamp s, year 10000",
            col("ts_s").eq(ts(TimeUnit::Second, 253_402_300_800, None)),
            "ts_s = '10000-01-01 00:00:00'",
            1,
        ),
        (
            "timestamp s before 1970",
            col("ts_s").lt(ts(TimeUnit::Second, 0, None)),
            "ts_s < '1970-01-01'",
            1,
        ),
        (
            "timestamp s with an offset zone",
            col("ts_s").eq(ts(TimeUnit::Second, 86_400, Some("+02:00"))),
            "ts_s = '1970-01-02T02:00:00+02:00'",
            1,
        ),
        (
            "timestamp ms UTC",
            col("ts_ms").eq(ts(TimeUnit::Millisecond, 1_500, Some("UTC"))),
            "ts_ms = '1970-01-01 00:00:01.5'",
            1,
        ),
        (
            "timestamp us negative",
            col("ts_us").eq(ts(TimeUnit::Microsecond, -1, None)),
            "ts_us = '1969-12-31 23:59:59.999999'",
            1,
        ),
        (
            "timestamp ns",
            col("ts_ns").eq(ts(
                TimeUnit::Nanosecond,
                1_700_000_000_123_456_789,
                Some("UTC"),
            )),
            "ts_ns = '2023-11-14T22:13:20.123456789Z'",
            1,
        ),
        (
            "timestamp ms vs second column",
            col("ts_s").eq(ts(TimeUnit::Millisecond, 86_400_000, None)),
            "ts_s = '1970-01-02'",
            1,
        ),
        // decimals
        (
            "decimal >",
            col("dec").gt(dec(10_000, 20, 2)),
            "dec > 100",
            2,
        ),
        (
            "decimal wide",
            col("dec").eq(dec(10_000_000_000_000_000_001, 20, 2)),
            "dec = '100000000000000000.01'",
            1,
        ),
        (
            "decimal negative",
            col("dec").lt(dec(0, 5, 0)),
            "dec < 0",
            1,
        ),
        (
            "decimal small",
            col("dec").eq(dec(-5, 10, 3)),
            "dec = -0.005",
            0,
        ),
        (
            "decimal -0.05",
            col("dec").eq(dec(-50, 10, 3)),
            "dec = -0.05",
            1,
        ),
        (
            "decimal256",
            col("dec").eq(lit(ScalarValue::Decimal256(Some(i256::from(9_999)), 40, 2))),
            "dec = 99.99",
            1,
        ),
        // arithmetic
        (
            "* and -",
            (col("i32") * lit(2i32) - lit(1i32)).gt(lit(5i32)),
            "i32 * 2 - 1 > 5",
            2,
        ),
        (
            "%",
            (col("i64") % lit(2i64)).eq(lit(0i64)),
            "i64 % 2 = 0",
            4,
        ),
        (
            "/",
            (col("i32") / lit(2i32)).eq(lit(1i32)),
            "i32 / 2 = 1",
            2,
        ),
        (
            "+",
            (col("i32") + lit(10i32)).eq(lit(11i32)),
            "i32 + 10 = 11",
            1,
        ),
        ("unary -", (-col("i64")).eq(lit(5i64)), "-i64 = 5", 1),
        (
            "||",
            binary_expr(col("s"), Operator::StringConcat, lit("!")).eq(lit("apple!")),
            "s || '!' = 'apple!'",
            1,
        ),
        // logic
        (
            "AND / OR / NOT",
            !(col("b")
                .eq(lit(true))
                .and(col("i32").gt(lit(1)))
                .or(col("s").eq(lit("")))),
            "NOT ((b AND i32 > 1) OR s = '')",
            3,
        ),
        (
            "IS DISTINCT FROM",
            binary_expr(col("i32"), Operator::IsDistinctFrom, lit(3i32)),
            "i32 IS NOT 3",
            5,
        ),
        (
            "IS NOT DISTINCT FROM NULL",
            binary_expr(
                col("i32"),
                Operator::IsNotDistinctFrom,
                lit(ScalarValue::Int32(None)),
            ),
            "i32 IS NULL",
            1,
        ),
        (
            "= NULL",
            col("i32").eq(lit(ScalarValue::Null)),
            "i32 = NULL",
            0,
        ),
        (
            "NOT BETWEEN",
            col("i32").not_between(lit(2), lit(5)),
            "i32 NOT BETWEEN 2 AND 5",
            2,
        ),
        (
            "CASE",
            when(col("i32").gt(lit(3)), lit(1))
                .otherwise(lit(0))
                .expect("case")
                .eq(lit(1)),
            "CASE WHEN i32 > 3 THEN 1 ELSE 0 END = 1",
            2,
        ),
        (
            "CAST",
            cast(col("i32"), DataType::Utf8).eq(lit("3")),
            "CAST(i32 AS TEXT) = '3'",
            1,
        ),
        ("alias", col("i32").eq(lit(1)).alias("x"), "i32 = 1", 1),
    ]
}

fn fresh(db: &Connection, name: &str, batch: &RecordBatch) -> infino::Supertable {
    let t = db
        .create_table(name, batch.schema(), IndexSpec::new())
        .expect("create");
    t.append(batch).expect("append");
    t
}

#[test]
fn expr_predicates_select_what_the_sql_text_selects() {
    let dir = Scratch::new("predicates");
    let db = connect(dir.uri()).expect("connect");
    let batch = fixture();
    let mut failures = Vec::new();
    for (i, (what, expr, sql, want)) in cases().into_iter().enumerate() {
        let name = format!("t{i}");
        let t = fresh(&db, &name, &batch);
        let all = ids(&db
            .query_sql(&format!("SELECT _id FROM {name}"))
            .expect("all"));
        let by_sql = ids(&db
            .query_sql(&format!("SELECT _id FROM {name} WHERE {sql}"))
            .unwrap_or_else(|e| panic!("{what}: SQL text {sql:?}: {e}")));
        let stats = match t.delete(expr.clone()) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{what}: delete({expr}) failed: {e}"));
                continue;
            }
        };
        let left = ids(&db
            .query_sql(&format!("SELECT _id FROM {name}"))
            .expect("left"));
        let deleted: Vec<i128> = all.iter().filter(|x| !left.contains(x)).copied().collect();
        if by_sql.len() != want {
            failures.push(format!(
                "{what}: SQL text {sql:?} selects {} rows, DataFusion selects {want}",
                by_sql.len()
            ));
        }
        if deleted != by_sql || stats.matched() != by_sql.len() {
            failures.push(format!(
                "{what}: delete({expr}) removed {deleted:?} (matched {}), SQL text {sql:?} selects {by_sql:?}",
                stats.matched()
            ));
        }
        drop(t);
        db.drop_table(&name, true).expect("drop");
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn unrenderable_exprs_are_errors_naming_them() {
    let dir = Scratch::new("unrenderable");
    let db = connect(dir.uri()).expect("connect");
    let t = fresh(&db, "t", &fixture());
    let cases: Vec<(Expr, &str)> = vec![
        (
            col("i32").eq(Expr::Placeholder(
                datafusion_expr::expr::Placeholder::new_with_field("$1".into(), None),
            )),
            "Placeholder",
        ),
        (
            col("i32").eq(lit(ScalarValue::IntervalYearMonth(Some(1)))),
            "Interval",
        ),
        (binary_expr(col("s"), Operator::RegexMatch, lit("a.*")), "~"),
        (col("s").like(col("ls")), "non-literal pattern"),
        (col("s").eq(lit("a\0b")), "NUL"),
        (cast(col("i32"), DataType::Date32).is_null(), "Date32"),
    ];
    for (e, needle) in cases {
        match t.delete(e.clone()) {
            Err(InfinoError::Query(m)) => assert!(m.contains(needle), "{e}: {m}"),
            other => panic!("{e}: expected a Query error naming {needle}, got {other:?}"),
        }
    }
    // Nothing was deleted by the refused calls.
    assert_eq!(n_rows(&db.query_sql("SELECT _id FROM t").expect("sql")), 6);
}

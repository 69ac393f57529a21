//! Renders a DataFusion [`Expr`] as the SQL predicate text the C core
//! evaluates for update and delete (SQLite's dialect over the table's
//! columns; see src/sql/sql.h for how each Arrow type appears there).
//!
//! Every sub-expression is parenthesized, so operator precedence never
//! depends on the two dialects agreeing. Literals are written the way
//! that SQL compares them with the stored values:
//!
//! | ScalarValue | text |
//! |---|---|
//! | NULL of any type | `NULL` |
//! | Boolean | `TRUE` / `FALSE` |
//! | integers | digits (the core quotes those SQLite would round) |
//! | Float16/32/64 | the exact f64 value, shortest round-trip form; NaN `'NaN'`, infinities `9e999` / `-9e999` |
//! | Decimal32/64/128/256 | exact digits with the scale's decimal point |
//! | Utf8, LargeUtf8, Utf8View | `'…'` with `'` doubled (a NUL character is refused) |
//! | Binary, LargeBinary, BinaryView, FixedSizeBinary | `X'hex'` |
//! | Date32, Date64 | `'YYYY-MM-DD'` (Date64 with a time of day as a timestamp) |
//! | Timestamp* (any unit, any zone) | `'YYYY-MM-DD HH:MM:SS[.fraction]'`, the UTC instant |
//! | Dictionary | its value |
//!
//! `LIKE` is case-sensitive in DataFusion but not in SQLite, so it is
//! rendered as SQLite's case-sensitive `GLOB` with the pattern translated
//! (`ILIKE` becomes SQLite's `LIKE`, which folds ASCII case only).
//! Anything else is an error naming the expression.

use std::fmt::Write;

use datafusion_common::ScalarValue;
use datafusion_expr::expr::{Between, BinaryExpr, Case, Cast, InList, Like, TryCast};
use datafusion_expr::{Expr, Operator};

use arrow_schema::DataType;

use crate::InfinoError;

/// The SQL text of `e`, or an error naming the part that has no
/// rendering.
pub(crate) fn to_sql(e: &Expr) -> Result<String, InfinoError> {
    let mut out = String::new();
    render(e, &mut out)?;
    Ok(out)
}

fn unsupported(what: impl std::fmt::Display) -> InfinoError {
    InfinoError::Query(format!(
        "cannot render {what} as an update/delete predicate"
    ))
}

fn paren(e: &Expr, out: &mut String) -> Result<(), InfinoError> {
    out.push('(');
    render(e, out)?;
    out.push(')');
    Ok(())
}

fn render(e: &Expr, out: &mut String) -> Result<(), InfinoError> {
    match e {
        Expr::Alias(a) => render(&a.expr, out),
        Expr::Column(c) => {
            // The qualifier (a table name) is dropped: a predicate only
            // sees the columns of the table it runs on.
            ident(&c.name, out);
            Ok(())
        }
        Expr::Literal(v, _) => literal(v, out),
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let op = match op {
                Operator::Eq => "=",
                Operator::NotEq => "<>",
                Operator::Lt => "<",
                Operator::LtEq => "<=",
                Operator::Gt => ">",
                Operator::GtEq => ">=",
                Operator::Plus => "+",
                Operator::Minus => "-",
                Operator::Multiply => "*",
                Operator::Divide => "/",
                Operator::Modulo => "%",
                Operator::And => "AND",
                Operator::Or => "OR",
                Operator::IsDistinctFrom => "IS NOT",
                Operator::IsNotDistinctFrom => "IS",
                Operator::BitwiseAnd => "&",
                Operator::BitwiseOr => "|",
                Operator::BitwiseShiftLeft => "<<",
                Operator::BitwiseShiftRight => ">>",
                Operator::StringConcat => "||",
                Operator::LikeMatch | Operator::NotLikeMatch => {
                    return like(
                        matches!(op, Operator::NotLikeMatch),
                        left,
                        right,
                        None,
                        false,
                        out,
                    );
                }
                Operator::ILikeMatch | Operator::NotILikeMatch => {
                    return like(
                        matches!(op, Operator::NotILikeMatch),
                        left,
                        right,
                        None,
                        true,
                        out,
                    );
                }
                other => return Err(unsupported(format_args!("the operator {other}"))),
            };
            paren(left, out)?;
            write!(out, " {op} ").expect("String writes never fail");
            paren(right, out)
        }
        Expr::Like(Like {
            negated,
            expr,
            pattern,
            escape_char,
            case_insensitive,
        }) => like(
            *negated,
            expr,
            pattern,
            *escape_char,
            *case_insensitive,
            out,
        ),
        Expr::Not(x) => {
            out.push_str("NOT ");
            paren(x, out)
        }
        Expr::IsNull(x) | Expr::IsUnknown(x) => {
            paren(x, out)?;
            out.push_str(" IS NULL");
            Ok(())
        }
        Expr::IsNotNull(x) | Expr::IsNotUnknown(x) => {
            paren(x, out)?;
            out.push_str(" IS NOT NULL");
            Ok(())
        }
        Expr::IsTrue(x) => postfix(x, " IS TRUE", out),
        Expr::IsFalse(x) => postfix(x, " IS FALSE", out),
        Expr::IsNotTrue(x) => postfix(x, " IS NOT TRUE", out),
        Expr::IsNotFalse(x) => postfix(x, " IS NOT FALSE", out),
        Expr::Negative(x) => {
            out.push('-');
            paren(x, out)
        }
        Expr::Between(Between {
            expr,
            negated,
            low,
            high,
        }) => {
            paren(expr, out)?;
            out.push_str(if *negated {
                " NOT BETWEEN "
            } else {
                " BETWEEN "
            });
            paren(low, out)?;
            out.push_str(" AND ");
            paren(high, out)
        }
        Expr::InList(InList {
            expr,
            list,
            negated,
        }) => {
            paren(expr, out)?;
            out.push_str(if *negated { " NOT IN (" } else { " IN (" });
            for (i, x) in list.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(x, out)?;
            }
            out.push(')');
            Ok(())
        }
        Expr::Case(Case {
            expr,
            when_then_expr,
            else_expr,
        }) => {
            out.push_str("CASE");
            if let Some(x) = expr {
                out.push(' ');
                paren(x, out)?;
            }
            for (w, t) in when_then_expr {
                out.push_str(" WHEN ");
                paren(w, out)?;
                out.push_str(" THEN ");
                paren(t, out)?;
            }
            if let Some(x) = else_expr {
                out.push_str(" ELSE ");
                paren(x, out)?;
            }
            out.push_str(" END");
            Ok(())
        }
        Expr::Cast(Cast { expr, data_type }) | Expr::TryCast(TryCast { expr, data_type }) => {
            let to = match data_type {
                DataType::Boolean
                | DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::UInt8
                | DataType::UInt16
                | DataType::UInt32 => "INTEGER",
                DataType::Float16 | DataType::Float32 | DataType::Float64 => "REAL",
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "TEXT",
                DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "BLOB",
                other => return Err(unsupported(format_args!("a cast to {other}"))),
            };
            out.push_str("CAST(");
            paren(expr, out)?;
            write!(out, " AS {to})").expect("String writes never fail");
            Ok(())
        }
        other => Err(unsupported(format_args!(
            "the {} expression `{other}`",
            variant_name(other)
        ))),
    }
}

fn postfix(x: &Expr, suffix: &str, out: &mut String) -> Result<(), InfinoError> {
    paren(x, out)?;
    out.push_str(suffix);
    Ok(())
}

fn variant_name(e: &Expr) -> &'static str {
    match e {
        Expr::ScalarVariable(..) => "ScalarVariable",
        Expr::SimilarTo(..) => "SimilarTo",
        Expr::ScalarFunction(..) => "ScalarFunction",
        Expr::AggregateFunction(..) => "AggregateFunction",
        Expr::WindowFunction(..) => "WindowFunction",
        Expr::Exists(..) => "Exists",
        Expr::InSubquery(..) => "InSubquery",
        Expr::SetComparison(..) => "SetComparison",
        Expr::ScalarSubquery(..) => "ScalarSubquery",
        Expr::GroupingSet(..) => "GroupingSet",
        Expr::Placeholder(..) => "Placeholder",
        Expr::OuterReferenceColumn(..) => "OuterReferenceColumn",
        Expr::Unnest(..) => "Unnest",
        _ => "unsupported",
    }
}

/// `LIKE`: DataFusion's is case-sensitive and, with no ESCAPE, treats a
/// backslash as the escape character (arrow's `like` kernel). SQLite's
/// `LIKE` folds ASCII case, so a case-sensitive one becomes `GLOB` with
/// `%` -> `*`, `_` -> `?`, and the pattern's own `*`, `?`, `[` bracketed.
/// `ILIKE` is SQLite's `LIKE` with the same escape character.
fn like(
    negated: bool,
    expr: &Expr,
    pattern: &Expr,
    escape: Option<char>,
    case_insensitive: bool,
    out: &mut String,
) -> Result<(), InfinoError> {
    let escape = escape.unwrap_or('\\');
    let pat = match pattern {
        Expr::Literal(v, _) => match v {
            ScalarValue::Utf8(p) | ScalarValue::LargeUtf8(p) | ScalarValue::Utf8View(p) => {
                p.as_deref()
            }
            _ => {
                return Err(unsupported(format_args!(
                    "a LIKE pattern of type {}",
                    v.data_type()
                )));
            }
        },
        other => {
            return Err(unsupported(format_args!(
                "LIKE with the non-literal pattern `{other}`"
            )));
        }
    };
    paren(expr, out)?;
    out.push_str(if negated { " NOT " } else { " " });
    let Some(pat) = pat else {
        out.push_str(if case_insensitive {
            "LIKE NULL"
        } else {
            "GLOB NULL"
        });
        return Ok(());
    };
    if case_insensitive {
        out.push_str("LIKE ");
        string_literal(pat, out)?;
        // SQLite needs the escape as one character; pass it explicitly.
        out.push_str(" ESCAPE ");
        string_literal(&escape.to_string(), out)?;
        return Ok(());
    }
    let mut glob = String::with_capacity(pat.len());
    let mut chars = pat.chars();
    while let Some(c) = chars.next() {
        let lit = if c == escape {
            // A trailing escape stands for itself, as in arrow's kernel.
            chars.next().unwrap_or(escape)
        } else if c == '%' {
            glob.push('*');
            continue;
        } else if c == '_' {
            glob.push('?');
            continue;
        } else {
            c
        };
        match lit {
            '*' => glob.push_str("[*]"),
            '?' => glob.push_str("[?]"),
            '[' => glob.push_str("[[]"),
            other => glob.push(other),
        }
    }
    out.push_str("GLOB ");
    string_literal(&glob, out)
}

/// A double-quoted SQL identifier.
fn ident(name: &str, out: &mut String) {
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

fn string_literal(s: &str, out: &mut String) -> Result<(), InfinoError> {
    if s.contains('\0') {
        return Err(unsupported("a string literal holding a NUL character"));
    }
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push('\'');
        }
        out.push(c);
    }
    out.push('\'');
    Ok(())
}

fn blob_literal(b: &[u8], out: &mut String) {
    out.push_str("X'");
    for x in b {
        write!(out, "{x:02X}").expect("String writes never fail");
    }
    out.push('\'');
}

fn float_literal(v: f64, out: &mut String) {
    if v.is_nan() {
        // Stored NaN is the text 'NaN' (src/sql/sql.h).
        out.push_str("'NaN'");
    } else if v.is_infinite() {
        // SQLite reads a literal past f64's range as an infinity.
        out.push_str(if v > 0.0 { "9e999" } else { "-9e999" });
    } else {
        // Debug is the shortest text that reads back as exactly `v`.
        write!(out, "{v:?}").expect("String writes never fail");
    }
}

/// Exact decimal digits of `unscaled * 10^-scale`.
fn decimal_literal(unscaled: &str, scale: i8, out: &mut String) {
    let (neg, digits) = match unscaled.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, unscaled),
    };
    if neg {
        out.push('-');
    }
    if scale <= 0 {
        out.push_str(digits);
        if digits != "0" {
            for _ in 0..(-(scale as i32)) {
                out.push('0');
            }
        }
        return;
    }
    let scale = scale as usize;
    if digits.len() <= scale {
        out.push_str("0.");
        for _ in digits.len()..scale {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    }
}

/// Civil date (proleptic Gregorian) of `days` since 1970-01-01, by the
/// era arithmetic of Howard Hinnant's `civil_from_days` (public domain
/// algorithm; this is our own rendering of it, as src/sql does in C).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// 'YYYY-MM-DD' as the core formats a date32 column: the year signed and
/// of at least 4 digits.
fn write_date(days: i64, out: &mut String) {
    let (y, m, d) = civil_from_days(days);
    let sign = if y < 0 { "-" } else { "" };
    write!(out, "{sign}{:04}-{m:02}-{d:02}", y.unsigned_abs()).expect("String writes never fail");
}

/// 'YYYY-MM-DD HH:MM:SS[.fraction]' in UTC, as the core formats a
/// timestamp column; `per_sec` is 1, 1e3, 1e6 or 1e9.
fn timestamp_literal(v: i64, per_sec: i64, out: &mut String) {
    let digits = match per_sec {
        1 => 0,
        1_000 => 3,
        1_000_000 => 6,
        _ => 9,
    };
    let secs = v.div_euclid(per_sec);
    let frac = v.rem_euclid(per_sec);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    out.push('\'');
    write_date(days, out);
    write!(
        out,
        " {:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
    .expect("String writes never fail");
    if frac != 0 {
        write!(out, ".{frac:0digits$}").expect("String writes never fail");
    }
    out.push('\'');
}

fn literal(v: &ScalarValue, out: &mut String) -> Result<(), InfinoError> {
    if v.is_null() {
        out.push_str("NULL");
        return Ok(());
    }
    let w = |out: &mut String, x: &dyn std::fmt::Display| {
        write!(out, "{x}").expect("String writes never fail")
    };
    match v {
        ScalarValue::Boolean(Some(b)) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
        ScalarValue::Int8(Some(x)) => w(out, x),
        ScalarValue::Int16(Some(x)) => w(out, x),
        ScalarValue::Int32(Some(x)) => w(out, x),
        ScalarValue::Int64(Some(x)) => w(out, x),
        ScalarValue::UInt8(Some(x)) => w(out, x),
        ScalarValue::UInt16(Some(x)) => w(out, x),
        ScalarValue::UInt32(Some(x)) => w(out, x),
        ScalarValue::UInt64(Some(x)) => w(out, x),
        ScalarValue::Float16(Some(x)) => float_literal(f64::from(x.to_f32()), out),
        ScalarValue::Float32(Some(x)) => float_literal(f64::from(*x), out),
        ScalarValue::Float64(Some(x)) => float_literal(*x, out),
        ScalarValue::Decimal32(Some(x), _, s) => decimal_literal(&x.to_string(), *s, out),
        ScalarValue::Decimal64(Some(x), _, s) => decimal_literal(&x.to_string(), *s, out),
        ScalarValue::Decimal128(Some(x), _, s) => decimal_literal(&x.to_string(), *s, out),
        ScalarValue::Decimal256(Some(x), _, s) => decimal_literal(&x.to_string(), *s, out),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => string_literal(s, out)?,
        ScalarValue::Binary(Some(b))
        | ScalarValue::LargeBinary(Some(b))
        | ScalarValue::BinaryView(Some(b))
        | ScalarValue::FixedSizeBinary(_, Some(b)) => blob_literal(b, out),
        ScalarValue::Date32(Some(d)) => {
            out.push('\'');
            write_date(i64::from(*d), out);
            out.push('\'');
        }
        ScalarValue::Date64(Some(ms)) => {
            if ms.rem_euclid(86_400_000) == 0 {
                out.push('\'');
                write_date(ms.div_euclid(86_400_000), out);
                out.push('\'');
            } else {
                timestamp_literal(*ms, 1_000, out);
            }
        }
        ScalarValue::TimestampSecond(Some(x), _) => timestamp_literal(*x, 1, out),
        ScalarValue::TimestampMillisecond(Some(x), _) => timestamp_literal(*x, 1_000, out),
        ScalarValue::TimestampMicrosecond(Some(x), _) => timestamp_literal(*x, 1_000_000, out),
        ScalarValue::TimestampNanosecond(Some(x), _) => timestamp_literal(*x, 1_000_000_000, out),
        ScalarValue::Dictionary(_, inner) => literal(inner, out)?,
        other => {
            return Err(unsupported(format_args!(
                "a literal of type {}",
                other.data_type()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion_expr::{col, lit};

    #[test]
    fn text_of_simple_predicates() {
        assert_eq!(to_sql(&col("a").eq(lit(1i64))).unwrap(), r#"("a") = (1)"#);
        assert_eq!(
            to_sql(&col("s").eq(lit("it's"))).unwrap(),
            r#"("s") = ('it''s')"#
        );
        assert_eq!(
            to_sql(&col("w\"x").is_null()).unwrap(),
            r#"("w""x") IS NULL"#
        );
    }

    #[test]
    fn decimal_digits() {
        let mut s = String::new();
        decimal_literal("-5", 3, &mut s);
        assert_eq!(s, "-0.005");
        s.clear();
        decimal_literal("12345", 2, &mut s);
        assert_eq!(s, "123.45");
        s.clear();
        decimal_literal("12", -2, &mut s);
        assert_eq!(s, "1200");
    }

    #[test]
    fn dates_across_eras() {
        let mut s = String::new();
        write_date(0, &mut s);
        assert_eq!(s, "1970-01-01");
        s.clear();
        write_date(-719_162, &mut s);
        assert_eq!(s, "0001-01-01");
        s.clear();
        write_date(-735_233, &mut s); // 44 BC (year -43 proleptic) ...
        assert!(s.starts_with("-00"), "{s}");
        s.clear();
        timestamp_literal(-1, 1_000_000_000, &mut s);
        assert_eq!(s, "'1969-12-31 23:59:59.999999999'");
    }

    #[test]
    fn like_becomes_glob() {
        assert_eq!(
            to_sql(&col("s").like(lit("a_b%*?[x\\%"))).unwrap(),
            r#"("s") GLOB 'a?b*[*][?][[]x%'"#
        );
        assert_eq!(
            to_sql(&col("s").ilike(lit("A%"))).unwrap(),
            r#"("s") LIKE 'A%' ESCAPE '\'"#
        );
    }

    #[test]
    fn unsupported_names_itself() {
        let e = col("a").eq(Expr::Placeholder(
            datafusion_expr::expr::Placeholder::new_with_field("$1".into(), None),
        ));
        let msg = to_sql(&e).unwrap_err().to_string();
        assert!(msg.contains("Placeholder"), "{msg}");
    }
}

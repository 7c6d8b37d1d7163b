//! Conversions between domain values and the portable column types.
use chrono::{DateTime, NaiveDate, Utc};
use openiop_domain::{DomainError, Result};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::str::FromStr;

pub(crate) use openiop_domain::audit::timestamp_text as ts;

pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| DomainError::Internal(format!("stored timestamp {s:?}: {e}")))
}

pub(crate) fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| DomainError::Internal(format!("stored date {s:?}: {e}")))
}

/// Typed access to a row, turning decode failures into internal errors.
pub(crate) trait Get {
    fn text(&self, col: &str) -> Result<String>;
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    fn int(&self, col: &str) -> Result<i64>;
    fn flag(&self, col: &str) -> Result<bool>;
    fn try_get_f64(&self, col: &str) -> Result<f64>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>>;
    fn opt_flag(&self, col: &str) -> Result<Option<bool>>;
    fn time(&self, col: &str) -> Result<DateTime<Utc>> {
        parse_ts(&self.text(col)?)
    }
    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>> {
        self.opt_text(col)?.map(|s| parse_ts(&s)).transpose()
    }
    fn parsed<T: FromStr>(&self, col: &str) -> Result<T> {
        let s = self.text(col)?;
        s.parse().map_err(|_| DomainError::Internal(format!("stored {col} {s:?} does not parse")))
    }
}

fn decode_err(col: &str, e: sqlx::Error) -> DomainError {
    DomainError::Internal(format!("column {col}: {e}"))
}

impl Get for AnyRow {
    fn text(&self, col: &str) -> Result<String> {
        self.try_get::<String, _>(col).map_err(|e| decode_err(col, e))
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        self.try_get::<Option<String>, _>(col).map_err(|e| decode_err(col, e))
    }
    fn int(&self, col: &str) -> Result<i64> {
        self.try_get::<i64, _>(col).map_err(|e| decode_err(col, e))
    }
    fn try_get_f64(&self, col: &str) -> Result<f64> {
        self.try_get::<f64, _>(col).map_err(|e| decode_err(col, e))
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        self.try_get::<Option<i64>, _>(col).map_err(|e| decode_err(col, e))
    }
    fn opt_flag(&self, col: &str) -> Result<Option<bool>> {
        match self.try_get::<Option<bool>, _>(col) {
            Ok(b) => Ok(b),
            Err(_) => self.try_get::<Option<i64>, _>(col).map(|v| v.map(|v| v != 0)).map_err(|e| decode_err(col, e)),
        }
    }
    /// Booleans: BOOLEAN on PostgreSQL, INTEGER 0/1 on SQLite (the Any driver has no SQLite bool).
    fn flag(&self, col: &str) -> Result<bool> {
        match self.try_get::<bool, _>(col) {
            Ok(b) => Ok(b),
            Err(_) => self.try_get::<i64, _>(col).map(|v| v != 0).map_err(|e| decode_err(col, e)),
        }
    }
}

//! Credit by day, rolled up. For each UTC day, group dimension, group, currency, event
//! and validity, `credit_days` holds the conversions credited and their value under
//! each of the five models, with the default window and half-life. A report over many
//! days adds up these rows instead of searching a million conversions' candidates.
//!
//! The rows stay exact:
//! - database triggers mark a day out of date (`credit_days_dirty`) in the same
//!   statement as any change to its conversions: recorded, confirmed, cancelled, or
//!   moved by a merge, and when a merge moves touchpoints to an identity, the days of
//!   that identity's conversions;
//! - a report searches the days that are out of date, and the partial days at the
//!   ends of its range, live, in the same snapshot as the rows it reads;
//! - conversions dated after they were recorded (the API allows a few minutes of clock
//!   skew) are never rolled up: a touch made after the recording may still precede
//!   them. Reports search them (a partial index finds them);
//! - `settle` recomputes out-of-date days from the search; the server runs it in the
//!   background, and the seed runs it to the end;
//! - when the default window or half-life changes, every day is out of date
//!   (`invalidate_all`, at startup).
//!
//! Several instances may settle at once: on PostgreSQL an advisory lock makes them
//! take turns; each day's dirty mark is cleared only if no change came after its
//! recomputation began (its `version` is unchanged).

use super::engine::{self, Sums, WEIGHED_VALUE, WEIGHT, add_rows, merge_sums, sum_columns};
use super::settings::{ConversionFilter, GroupBy, Model, Settings};
use crate::server::sql::stmt;
use crate::server::time::DAY;
use sea_orm::{AccessMode, ConnectionTrait, DatabaseBackend, DbErr, IsolationLevel, TransactionTrait, Value};

/// The advisory lock settling days holds on PostgreSQL.
const SETTLE_LOCK: i64 = 0x7472_6962_6461_7973;

/// The first millisecond of the UTC day of `col` (for times from 1970 on).
fn day_of(col: &str) -> String {
    format!("(({col}) / {DAY}) * {DAY}")
}

/// Marks every day with conversions out of date, and drops the rows: for a change of
/// the default window or half-life.
pub async fn invalidate_all(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let b = db.get_database_backend();
    db.execute(stmt(b, "DELETE FROM credit_days", [])).await?;
    db.execute(stmt(
        b,
        &format!(
            "INSERT INTO credit_days_dirty (day, version) SELECT DISTINCT {}, 1 FROM conversions c WHERE TRUE \
             ON CONFLICT (day) DO UPDATE SET version = credit_days_dirty.version + 1",
            day_of("c.occurred_at")
        ),
        [],
    ))
    .await?;
    Ok(())
}

/// Recomputes up to `limit` out-of-date days, newest first, each in its own
/// transaction; returns how many were recomputed.
/// Nothing is recomputed unless `s` has the window and half-life the database records
/// (an instance started with other settings than the latest one leaves the days alone).
pub async fn settle<C: ConnectionTrait + TransactionTrait>(db: &C, s: &Settings, limit: u64) -> Result<u64, DbErr> {
    let b = db.get_database_backend();
    let mut recorded = (None, None);
    for r in db
        .query_all(stmt(
            b,
            "SELECT key, value FROM app_meta WHERE key IN ('attribution_window_days', 'attribution_half_life_days')",
            [],
        ))
        .await?
    {
        let value: String = r.try_get("", "value")?;
        match r.try_get::<String>("", "key")?.as_str() {
            "attribution_window_days" => recorded.0 = value.parse::<i64>().ok(),
            _ => recorded.1 = value.parse::<f64>().ok(),
        }
    }
    if recorded != (Some(s.rollup_window_days), Some(s.rollup_half_life_days)) {
        tracing::warn!(
            ?recorded,
            "the credit by day is kept for other settings than this instance's: left to that instance"
        );
        return Ok(0);
    }
    let dirty = db
        .query_all(stmt(
            b,
            "SELECT day, version FROM credit_days_dirty ORDER BY day DESC LIMIT ?",
            [(limit as i64).into()],
        ))
        .await?;
    let mut done = 0;
    for r in dirty {
        let day: i64 = r.try_get("", "day")?;
        let version: i64 = r.try_get("", "version")?;
        let txn = db.begin().await?;
        if b == DatabaseBackend::Postgres {
            txn.execute(stmt(b, "SELECT pg_advisory_xact_lock(?)", [SETTLE_LOCK.into()]))
                .await?;
        }
        txn.execute(stmt(b, "DELETE FROM credit_days WHERE day = ?", [day.into()]))
            .await?;
        for group in GroupBy::ALL {
            compute(&txn, s, day, group).await?;
        }
        txn.execute(stmt(
            b,
            "DELETE FROM credit_days_dirty WHERE day = ? AND version = ?",
            [day.into(), version.into()],
        ))
        .await?;
        txn.commit().await?;
        done += 1;
    }
    Ok(done)
}

/// Writes the rows of `day` for `group`, from the search.
async fn compute(db: &impl ConnectionTrait, s: &Settings, day: i64, group: GroupBy) -> Result<(), DbErr> {
    let filter = ConversionFilter {
        from: Some(day),
        to: Some(day + DAY),
        valid_only: false,
        late: Some(false),
        ..Default::default()
    };
    let q = engine::candidates(s, &filter, group, &Model::ALL, false);
    let columns: Vec<usize> = (0..Model::ALL.len()).collect();
    let names: Vec<String> = columns.iter().map(|k| format!("c{k}, v{k}")).collect();
    // `day` and the dimension's name are ours, not input: written into the SQL, they
    // leave the values in the order the query's text binds them.
    let sql = format!(
        "{} INSERT INTO credit_days (day, dim, gkey, currency, event, valid, {}) \
         SELECT {day}, '{}', y.gkey, y.currency, y.event, y.valid, {} FROM ({}) y \
         WHERE TRUE GROUP BY y.gkey, y.currency, y.event, y.valid",
        q.with,
        names.join(", "),
        group.as_str(),
        sum_columns(&columns, WEIGHT, WEIGHED_VALUE),
        q.select
    );
    db.execute(stmt(db.get_database_backend(), &sql, q.values)).await?;
    Ok(())
}

/// A part of a report's range searched live: `[from, to)`, and whether only its
/// conversions dated after their recording (the rest being rolled up).
type Live = (Option<i64>, Option<i64>, Option<bool>);

/// The sums of `models` for `filter`: the rolled-up whole days that are up to date,
/// plus a search of the rest, all in one snapshot.
pub(super) async fn sums<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    s: &Settings,
    filter: &ConversionFilter,
    group: GroupBy,
    models: &[Model],
) -> Result<Sums, DbErr> {
    let b = db.get_database_backend();
    let txn = match b {
        DatabaseBackend::Postgres => {
            db.begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly))
                .await?
        }
        _ => db.begin().await?,
    };
    // The whole days of the range; times before 1970-01-02 are always searched.
    let lo = filter.from.map_or(DAY, |f| (f.max(0) + DAY - 1) / DAY * DAY).max(DAY);
    let hi = filter.to.map(|t| t.max(0) / DAY * DAY);
    if hi.is_some_and(|hi| hi <= lo) {
        let out = engine::search_sums(&txn, s, filter, group, models).await?;
        txn.commit().await?;
        return Ok(out);
    }
    let mut range_sql = "day >= ?".to_string();
    let mut range: Vec<Value> = vec![lo.into()];
    if let Some(hi) = hi {
        range_sql.push_str(" AND day < ?");
        range.push(hi.into());
    }
    let dirty: Vec<i64> = txn
        .query_all(stmt(
            b,
            &format!("SELECT day FROM credit_days_dirty WHERE {range_sql} ORDER BY day"),
            range.clone(),
        ))
        .await?
        .iter()
        .map(|r| r.try_get::<i64>("", "day"))
        .collect::<Result<_, _>>()?;
    let mut live: Vec<Live> = vec![(filter.from, Some(lo), None)];
    if let Some(hi) = hi {
        live.push((Some(hi), filter.to, None));
    }
    // Between `lo` and `hi`: runs of out-of-date days are searched whole, and the
    // late conversions of the days between them.
    let mut at = lo;
    let mut days = dirty.iter().peekable();
    while let Some(&d) = days.next() {
        let mut end = d + DAY;
        while days.peek().is_some_and(|n| **n == end) {
            days.next();
            end += DAY;
        }
        if at < d {
            live.push((Some(at), Some(d), Some(true)));
        }
        live.push((Some(d), Some(end), None));
        at = end;
    }
    if hi.is_none_or(|hi| at < hi) {
        live.push((Some(at), hi, Some(true)));
    }

    let indexes: Vec<usize> = models
        .iter()
        .map(|m| Model::ALL.iter().position(|x| x == m).unwrap_or(0))
        .collect();
    let mut values = vec![Value::from(group.as_str())];
    values.extend(range);
    let mut conditions = String::new();
    if filter.valid_only {
        conditions.push_str(" AND valid = 1");
    }
    if let Some(e) = &filter.event {
        conditions.push_str(" AND event = ?");
        values.push(e.clone().into());
    }
    let sql = format!(
        "SELECT gkey, currency, {} FROM credit_days WHERE dim = ? AND {range_sql}{conditions} \
         AND day NOT IN (SELECT day FROM credit_days_dirty) GROUP BY gkey, currency",
        sum_columns(&indexes, "c{i}", "v{i}")
    );
    let mut out = Sums::new();
    add_rows(&mut out, txn.query_all(stmt(b, &sql, values)).await?, models.len())?;
    for (from, to, late) in live {
        if from.is_some_and(|f| to.is_some_and(|t| f >= t)) {
            continue;
        }
        let part = ConversionFilter {
            from: match (from, filter.from) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
            to: match (to, filter.to) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            late,
            ..filter.clone()
        };
        merge_sums(&mut out, engine::search_sums(&txn, s, &part, group, models).await?);
    }
    txn.commit().await?;
    Ok(out)
}

//! Raw SQL that runs on both databases: `?` placeholders become `$1, $2, ...` on
//! PostgreSQL. Used where sea-orm's builders would hide what the query does (the hot
//! paths, merges and reports). Our SQL never has a `?` inside a string literal.

use crate::dto::Page;
use crate::paging::PageNumber;
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, QueryResult, Statement, Value};

pub fn stmt(backend: DatabaseBackend, sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(backend, placeholders(backend, sql), values)
}

pub fn placeholders(backend: DatabaseBackend, sql: &str) -> String {
    if backend != DatabaseBackend::Postgres {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// `conversions AS c`, read through its covering index on `occurred_at`: for reports
/// over a range of dates. Once ANALYZE has run (the seed runs it), SQLite's planner
/// prefers a skip-scan of `conversions_event_time_idx` (three events) with a table
/// lookup per row: 2.3 s instead of 0.03 s for a month at a million conversions. On
/// SQLite the index is named; PostgreSQL chooses well by itself.
pub fn conversions_by_time(backend: DatabaseBackend, alias: &str) -> String {
    match backend {
        DatabaseBackend::Sqlite => format!("conversions AS {alias} INDEXED BY conversions_time_idx"),
        _ => format!("conversions AS {alias}"),
    }
}

/// `(?, ?, ?), (?, ?, ?)`: the VALUES list of a multi-row insert.
pub fn value_rows(rows: usize, cols: usize) -> String {
    let one = format!("({})", vec!["?"; cols].join(", "));
    vec![one; rows].join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_on_postgres() {
        assert_eq!(
            placeholders(DatabaseBackend::Postgres, "a = ? AND b IN (?, ?)"),
            "a = $1 AND b IN ($2, $3)"
        );
        assert_eq!(placeholders(DatabaseBackend::Sqlite, "a = ?"), "a = ?");
        assert_eq!(value_rows(2, 3), "(?, ?, ?), (?, ?, ?)");
    }
}

/// A WHERE clause built from optional filters, with its values in order.
#[derive(Default)]
pub struct Where {
    clauses: Vec<String>,
    pub values: Vec<Value>,
}

impl Where {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `clause` (with `?` placeholders) and its values.
    pub fn and(&mut self, clause: &str, values: impl IntoIterator<Item = Value>) -> &mut Self {
        self.clauses.push(format!("({clause})"));
        self.values.extend(values);
        self
    }

    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
}

/// A `LIKE` pattern matching `s` anywhere, with `%`, `_` and `\` escaped
/// (use with `ESCAPE '\'`).
pub fn contains_pattern(s: &str) -> String {
    let mut out = String::from("%");
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A list: `[WITH ..] SELECT {columns} {from}{filter} ORDER BY {order}`. An admin page
/// reads a page of it ([`paged`]) and its CSV export every row ([`Listing::all`]),
/// with the same filters and order.
pub struct Listing {
    /// A `WITH` part (or nothing), whose values come before the filter's.
    pub with: String,
    pub with_values: Vec<Value>,
    pub columns: String,
    /// `FROM` and its joins.
    pub from: String,
    pub filter: Where,
    pub order: String,
}

impl Listing {
    pub fn new(columns: &str, from: &str, filter: Where, order: &str) -> Self {
        Listing {
            with: String::new(),
            with_values: Vec::new(),
            columns: columns.to_string(),
            from: from.to_string(),
            filter,
            order: order.to_string(),
        }
    }

    /// The same list, reading other columns (an export reads more than its page).
    pub fn columns(mut self, columns: &str) -> Self {
        self.columns = columns.to_string();
        self
    }

    fn values(&self) -> Vec<Value> {
        self.with_values.iter().chain(&self.filter.values).cloned().collect()
    }

    fn select(&self, tail: &str) -> String {
        let sql = format!(
            "{} SELECT {} {}{} ORDER BY {}{tail}",
            self.with,
            self.columns,
            self.from,
            self.filter.sql(),
            self.order
        );
        sql.trim_start().to_string()
    }

    /// Every row, in order: for an export's stream.
    pub fn all(&self, backend: DatabaseBackend) -> Statement {
        stmt(backend, &self.select(""), self.values())
    }
}

/// One page of `listing`, and how many rows all its pages hold: a count, then the
/// page's rows (none is read for a page past the end).
pub async fn paged(
    db: &impl ConnectionTrait,
    listing: &Listing,
    page: PageNumber,
    per_page: u64,
) -> Result<Page<QueryResult>, DbErr> {
    let b = db.get_database_backend();
    let count = format!(
        "{} SELECT COUNT(*) AS n {}{}",
        listing.with,
        listing.from,
        listing.filter.sql()
    );
    let total: i64 = db
        .query_one(stmt(b, count.trim_start(), listing.values()))
        .await?
        .map(|r| r.try_get("", "n"))
        .transpose()?
        .unwrap_or(0);
    let total = total.max(0) as u64;
    let offset = page.offset(per_page);
    let items = if offset >= total {
        Vec::new()
    } else {
        let mut values = listing.values();
        values.extend([(per_page as i64).into(), (offset as i64).into()]);
        db.query_all(stmt(b, &listing.select(" LIMIT ? OFFSET ?"), values))
            .await?
    };
    Ok(Page {
        items,
        page: page.get(),
        per_page,
        total,
    })
}

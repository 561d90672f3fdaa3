//! Tables for export: a header and rows of cells. The domain builds them (a small
//! table at once, or a long one as a stream of rows read from the database in
//! chunks); `server/src/export.rs` writes them as CSV. A cell says whether it is text
//! from anywhere, which the writer must make safe for spreadsheets, or a number or
//! time we formatted.

use crate::server::money::{exponent_of, format_minor_units};
use crate::server::time::rfc3339;
use futures::StreamExt;
use futures::stream::BoxStream;
use sea_orm::{DatabaseConnection, DbErr, QueryResult, Statement};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Rows streamed from the database are sent on in chunks of this many.
pub const CHUNK_ROWS: usize = 500;

/// How long a streamed table may go without a row from the database, or without the
/// client taking a chunk, before it is abandoned. Exports are exempt from the request
/// timeout (`REQUEST_TIMEOUT_SECONDS`), so this is what bounds them.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    Num(String),
}

pub type Row = Vec<Cell>;

pub struct Table {
    pub header: Vec<String>,
    pub rows: Rows,
}

pub enum Rows {
    All(Vec<Row>),
    /// Chunks of rows; the stream ends early with an error when the database fails.
    Chunks(BoxStream<'static, Result<Vec<Row>, DbErr>>),
}

impl Table {
    pub fn new(header: &[&str], rows: Vec<Row>) -> Self {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Rows::All(rows),
        }
    }

    /// Every row `statement` selects, each made into cells by `to_cells`, read in
    /// chunks as the writer asks for them, so that a million rows never sit in memory.
    /// The rows are read by a task of their own, which stops when the stream is dropped,
    /// or when either side stalls for `IDLE_TIMEOUT`.
    pub fn streamed(
        header: &[&str],
        db: DatabaseConnection,
        statement: Statement,
        to_cells: fn(&QueryResult) -> Row,
    ) -> Self {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<Row>, DbErr>>(8);
        tokio::spawn(async move {
            use sea_orm::StreamTrait;
            let mut rows = match db.stream(statement).await {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let mut chunk = Vec::with_capacity(CHUNK_ROWS);
            loop {
                let row = match tokio::time::timeout(IDLE_TIMEOUT, rows.next()).await {
                    Ok(Some(row)) => row,
                    Ok(None) => break,
                    Err(_) => {
                        tracing::warn!("an export stopped: the database sent nothing for {IDLE_TIMEOUT:?}");
                        let _ = tx.try_send(Err(DbErr::Custom("the export stalled".into())));
                        return;
                    }
                };
                match row {
                    Ok(r) => chunk.push(to_cells(&r)),
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                }
                if chunk.len() >= CHUNK_ROWS {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_ROWS));
                    if tx.send_timeout(Ok(full), IDLE_TIMEOUT).await.is_err() {
                        return; // the client went away, or stopped reading
                    }
                }
            }
            drop(rows);
            let _ = tx.send_timeout(Ok(chunk), IDLE_TIMEOUT).await;
        });
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Rows::Chunks(
                futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) }).boxed(),
            ),
        }
    }

    /// `key, conversions, value_EUR, value_USD, ...`: a table of groups.
    pub fn grouped(key_header: &str, rows: Vec<(String, f64, BTreeMap<String, String>)>) -> Self {
        Table::valued(
            &[key_header, "conversions"],
            rows.into_iter()
                .map(|(k, n, v)| (vec![Cell::Text(k), Cell::Num(number(n))], v))
                .collect(),
        )
    }

    /// The header's columns, then one value column per currency present
    /// (`value_EUR`, ...): each row's cells, then its values (empty where it has none).
    pub fn valued(header: &[&str], rows: Vec<(Row, BTreeMap<String, String>)>) -> Self {
        let currencies: BTreeSet<String> = rows.iter().flat_map(|r| r.1.keys().cloned()).collect();
        let mut head: Vec<String> = header.iter().map(|h| h.to_string()).collect();
        head.extend(currencies.iter().map(|c| format!("value_{c}")));
        let rows = rows
            .into_iter()
            .map(|(mut cells, value)| {
                cells.extend(
                    currencies
                        .iter()
                        .map(|c| Cell::Num(value.get(c).cloned().unwrap_or_default())),
                );
                cells
            })
            .collect();
        Table {
            header: head,
            rows: Rows::All(rows),
        }
    }
}

/// `3`, `2.5`, `0.333333`: a credit, without trailing zeros.
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.6}").trim_end_matches('0').to_string()
    }
}

pub fn text(r: &QueryResult, col: &str) -> Cell {
    Cell::Text(r.try_get::<Option<String>>("", col).ok().flatten().unwrap_or_default())
}

pub fn int(r: &QueryResult, col: &str) -> Cell {
    Cell::Num(
        r.try_get::<Option<i64>>("", col)
            .ok()
            .flatten()
            .map(|v| v.to_string())
            .unwrap_or_default(),
    )
}

pub fn boolean(r: &QueryResult, col: &str) -> Cell {
    Cell::Num(r.try_get::<bool>("", col).map(|b| b.to_string()).unwrap_or_default())
}

/// A time in milliseconds, as RFC 3339.
pub fn time(r: &QueryResult, col: &str) -> Cell {
    Cell::Num(
        r.try_get::<Option<i64>>("", col)
            .ok()
            .flatten()
            .map(rfc3339)
            .unwrap_or_default(),
    )
}

/// `value_minor` in its `currency`, as a decimal.
pub fn money(r: &QueryResult) -> Cell {
    let currency: String = r.try_get("", "currency").unwrap_or_default();
    Cell::Num(
        r.try_get::<Option<i64>>("", "value_minor")
            .ok()
            .flatten()
            .map(|v| format_minor_units(v, exponent_of(&currency)))
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_lose_their_trailing_zeros() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(1.0 / 3.0), "0.333333");
    }

    #[test]
    fn grouped_tables_have_a_value_column_per_currency() {
        let t = Table::grouped(
            "source",
            vec![
                ("google".into(), 2.0, BTreeMap::from([("EUR".into(), "10.00".into())])),
                ("bing".into(), 0.5, BTreeMap::from([("USD".into(), "1.50".into())])),
            ],
        );
        assert_eq!(t.header, ["source", "conversions", "value_EUR", "value_USD"]);
        let Rows::All(rows) = t.rows else {
            panic!("a small table")
        };
        assert_eq!(
            rows[1],
            [
                Cell::Text("bing".into()),
                Cell::Num("0.5".into()),
                Cell::Num("".into()),
                Cell::Num("1.50".into())
            ]
        );
    }
}

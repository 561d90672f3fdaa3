//! The attribution explorer: its parameters, checked once ([`resolve`]), and what the
//! admin pages and their CSV exports read with them (the grouped report, every model
//! side by side, the conversions credited to one group).

use super::engine;
use super::reports;
use super::settings::{ConversionFilter, GroupBy, Settings};
use crate::dto::{DrillRow, ExplorerParams, Page};
use crate::error::AppError;
use crate::paging::PageNumber;
use crate::server::config::Config;
use crate::server::range::DateRange;
use crate::server::table::{self, Cell, Table};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};

/// The explorer's parameters, checked.
pub struct Resolved {
    pub settings: Settings,
    pub filter: ConversionFilter,
    pub group: GroupBy,
    pub range: DateRange,
}

/// Checks the explorer's parameters: the model and its windows, the grouping, the
/// date range (in `TRIBUTARY_TIMEZONE`), the event and validity.
pub fn resolve(p: &ExplorerParams, config: &Config, now: i64) -> Result<Resolved, AppError> {
    let settings = Settings::parse(
        config,
        p.model.as_deref(),
        p.window_days.as_deref(),
        p.source_windows.as_deref(),
        p.half_life_days.as_deref(),
    )?;
    let group = match p.group_by.as_deref() {
        None => GroupBy::Source,
        Some(g) => GroupBy::parse(g).ok_or_else(|| AppError::validation("group_by", "Choose a grouping."))?,
    };
    let range = DateRange::resolve(
        p.range.as_deref(),
        p.from.as_deref(),
        p.to.as_deref(),
        now,
        config.timezone,
    )?;
    let mut filter = ConversionFilter::parse(config, None, None, p.event.as_deref(), p.valid.as_deref())?;
    filter.from = Some(range.current.from);
    filter.to = Some(range.current.to);
    Ok(Resolved {
        settings,
        filter,
        group,
        range,
    })
}

pub const DRILL_PER_PAGE: u64 = 50;

/// A page of the conversions credited to the group `key`, newest first, with the
/// group's share of each.
pub async fn drill(
    db: &impl ConnectionTrait,
    config: &Config,
    r: &Resolved,
    key: &str,
    page: PageNumber,
) -> Result<Page<DrillRow>, AppError> {
    let (ids, total) = engine::drill(
        db,
        &r.settings,
        &r.filter,
        r.group,
        key,
        DRILL_PER_PAGE,
        page.offset(DRILL_PER_PAGE),
    )
    .await?;
    let models =
        crate::server::conversions::manage::by_ids(db, &ids.iter().map(|(i, _)| *i).collect::<Vec<_>>()).await?;
    Ok(Page {
        items: ids
            .into_iter()
            .filter_map(|(id, share)| {
                let c = models.get(&id)?;
                Some(DrillRow {
                    conversion: crate::server::conversions::to_dto(c),
                    at: crate::server::time::display(c.occurred_at, config.timezone),
                    share,
                })
            })
            .collect(),
        page: page.get(),
        per_page: DRILL_PER_PAGE,
        total,
    })
}

/// The grouped report as a table.
pub async fn report_table<C: ConnectionTrait + TransactionTrait>(db: &C, r: &Resolved) -> Result<Table, AppError> {
    let report = reports::report(db, &r.settings, &r.filter, r.group).await?;
    Ok(Table::grouped(
        r.group.as_str(),
        report
            .items
            .into_iter()
            .map(|i| (i.key, i.conversions, i.value))
            .collect(),
    ))
}

/// Every model's credited conversions per group, as a table.
pub async fn compare_table<C: ConnectionTrait + TransactionTrait>(db: &C, r: &Resolved) -> Result<Table, AppError> {
    let c = reports::compare(db, &r.settings, &r.filter, r.group).await?;
    let mut header = vec![r.group.as_str().to_string()];
    header.extend(c.models.iter().cloned());
    let rows = c
        .rows
        .into_iter()
        .map(|row| {
            let mut cells = vec![Cell::Text(row.key)];
            cells.extend(row.conversions.into_iter().map(|x| Cell::Num(table::number(x))));
            cells
        })
        .collect();
    Ok(Table {
        header,
        rows: table::Rows::All(rows),
    })
}

/// Every conversion credited to the group `key`, with its share, as a table.
pub fn drill_table(db: DatabaseConnection, r: &Resolved, key: &str) -> Table {
    let (with, sql, values) = engine::drill_query(&r.settings, &r.filter, r.group, key);
    let sql = format!(
        "{with} SELECT c.id, c.occurred_at, c.event, c.value_minor, c.currency, d.share FROM ({sql}) d \
         JOIN conversions c ON c.id = d.cid ORDER BY c.id DESC"
    );
    let statement = crate::server::sql::stmt(db.get_database_backend(), &sql, values);
    Table::streamed(
        &["conversion_id", "occurred_at", "event", "value", "currency", "share"],
        db,
        statement,
        |r| {
            let mut cells = crate::server::conversions::manage::conversion_cells(r);
            cells.push(Cell::Num(
                r.try_get::<f64>("", "share").map(table::number).unwrap_or_default(),
            ));
            cells
        },
    )
}

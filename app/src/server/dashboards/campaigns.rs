//! Campaign performance in a date range: codes, clicks, sign-ups and unique visitors
//! inside both the range and the campaign's dates, conversions and value credited by
//! last touch (a touch outside the campaign's dates is not the campaign's), and a
//! sparkline of conversions per day.

use super::overview::range_dto;
use crate::dto::Series;
use crate::dto::{CampaignPage, CampaignPerformance, CampaignsPerformance, ChartData};
use crate::error::AppError;
use crate::server::campaigns;
use crate::server::config::Config;
use crate::server::money::format_values;
use crate::server::range::{DateRange, Period, bucket_of};
use crate::server::sql::{conversions_by_time, stmt};
use crate::server::table::{Cell, Table};
use sea_orm::{ConnectionTrait, DbErr, Value};
use std::collections::{BTreeMap, HashMap};

const QUARTER_HOUR: i64 = 15 * 60 * 1000;
const IN_DATES: &str =
    "(cm.starts_at IS NULL OR c.lt_at >= cm.starts_at) AND (cm.ends_at IS NULL OR c.lt_at < cm.ends_at)";

/// Credited conversions per campaign (and per quarter-hour when `series`).
async fn credited(
    db: &impl ConnectionTrait,
    p: Period,
    campaign: Option<i64>,
) -> Result<Vec<(i64, String, i64, i64, Option<i64>)>, DbErr> {
    let (filter, mut values): (&str, Vec<Value>) = match campaign {
        Some(id) => (" AND cm.id = ?", vec![id.into()]),
        None => ("", vec![]),
    };
    values.splice(0..0, [p.from.into(), p.from.into(), p.to.into()]);
    let sql = format!(
        "SELECT cm.id AS cid, c.currency, (c.occurred_at - ?) / {QUARTER_HOUR} AS q, COUNT(*) AS n, CAST(SUM(c.value_minor) AS BIGINT) AS v \
         FROM {} JOIN links l ON l.id = c.lt_link_id JOIN campaigns cm ON cm.id = l.campaign_id \
         WHERE c.occurred_at >= ? AND c.occurred_at < ? AND c.active = TRUE AND c.confirmed = TRUE AND {IN_DATES}{filter} \
         GROUP BY cm.id, c.currency, q",
        conversions_by_time(db.get_database_backend(), "c")
    );
    db.query_all(stmt(db.get_database_backend(), &sql, values))
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("", "cid")?,
                r.try_get("", "currency")?,
                r.try_get("", "q")?,
                r.try_get("", "n")?,
                r.try_get("", "v")?,
            ))
        })
        .collect()
}

/// Per campaign: conversions credited, value by currency, and conversions per day bucket.
type CampaignSums = (i64, BTreeMap<String, i64>, Vec<f64>);

fn fold(rows: Vec<(i64, String, i64, i64, Option<i64>)>, starts: &[i64], p: Period) -> HashMap<i64, CampaignSums> {
    let mut out: HashMap<i64, CampaignSums> = HashMap::new();
    for (cid, currency, q, n, v) in rows {
        let e = out
            .entry(cid)
            .or_insert_with(|| (0, BTreeMap::new(), vec![0.0; starts.len()]));
        e.0 += n;
        if let Some(v) = v {
            *e.1.entry(currency).or_default() += v;
        }
        if let Some(i) = bucket_of(starts, p.to, p.from + q * QUARTER_HOUR) {
            e.2[i] += n as f64;
        }
    }
    out
}

fn values(v: BTreeMap<String, i64>) -> BTreeMap<String, String> {
    format_values(&v)
}

pub async fn performance(
    db: &impl ConnectionTrait,
    config: &Config,
    range: &DateRange,
) -> Result<CampaignsPerformance, DbErr> {
    let days: Vec<i64> = range.buckets(config.timezone).iter().map(|b| b.0).collect();
    let list = campaigns::list_in(db, config, Some(range.current)).await?;
    let mut credit = fold(credited(db, range.current, None).await?, &days, range.current);
    Ok(CampaignsPerformance {
        range: range_dto(range),
        campaigns: list
            .into_iter()
            .map(|c| {
                let id: i64 = c.id.parse().unwrap_or_default();
                let (n, v, spark) = credit
                    .remove(&id)
                    .unwrap_or_else(|| (0, BTreeMap::new(), vec![0.0; days.len()]));
                CampaignPerformance {
                    campaign: c,
                    conversions: n,
                    value: values(v),
                    sparkline: spark,
                }
            })
            .collect(),
    })
}

/// Every campaign's performance over `range`, as a table.
pub async fn performance_table(db: &impl ConnectionTrait, config: &Config, range: &DateRange) -> Result<Table, DbErr> {
    let perf = performance(db, config, range).await?;
    let rows = perf
        .campaigns
        .into_iter()
        .map(|p| {
            let c = p.campaign;
            let cells = vec![
                Cell::Text(c.name),
                Cell::Text(c.pattern),
                Cell::Text(c.pattern_kind),
                Cell::Num(c.codes.to_string()),
                Cell::Num(c.clicks.to_string()),
                Cell::Num(c.signups.to_string()),
                Cell::Num(c.unique_visitors.to_string()),
                Cell::Num(p.conversions.to_string()),
            ];
            (cells, p.value)
        })
        .collect();
    Ok(Table::valued(
        &[
            "campaign",
            "pattern",
            "pattern_kind",
            "codes",
            "clicks",
            "signups",
            "unique_visitors",
            "conversions",
        ],
        rows,
    ))
}

/// Quarter-hour counts of the campaign's clicks (`RESPONDED`) or sign-ups (`SIGNED_UP`)
/// inside its dates.
async fn responses_series(
    db: &impl ConnectionTrait,
    id: i64,
    action: &str,
    p: Period,
) -> Result<Vec<(i64, i64)>, DbErr> {
    let sql = format!(
        "SELECT (r.created_at - ?) / {QUARTER_HOUR} AS q, COUNT(*) AS n FROM responses r JOIN links l ON l.id = r.link_id \
         JOIN campaigns cm ON cm.id = l.campaign_id WHERE cm.id = ? AND r.action = ? AND r.created_at >= ? AND r.created_at < ? \
         AND (cm.starts_at IS NULL OR r.created_at >= cm.starts_at) AND (cm.ends_at IS NULL OR r.created_at < cm.ends_at) \
         GROUP BY q"
    );
    db.query_all(stmt(
        db.get_database_backend(),
        &sql,
        [p.from.into(), id.into(), action.into(), p.from.into(), p.to.into()],
    ))
    .await?
    .iter()
    .map(|r| Ok((r.try_get("", "q")?, r.try_get("", "n")?)))
    .collect()
}

pub async fn page(
    db: &impl ConnectionTrait,
    config: &Config,
    id: i64,
    range: &DateRange,
) -> Result<CampaignPage, AppError> {
    let buckets = range.buckets(config.timezone);
    let starts: Vec<i64> = buckets.iter().map(|b| b.0).collect();
    let campaign = campaigns::list_in(db, config, Some(range.current))
        .await?
        .into_iter()
        .find(|c| c.id == id.to_string())
        .ok_or_else(|| AppError::not_found("No such campaign."))?;
    let mut credit = fold(credited(db, range.current, Some(id)).await?, &starts, range.current);
    let (n, v, spark) = credit
        .remove(&id)
        .unwrap_or_else(|| (0, BTreeMap::new(), vec![0.0; starts.len()]));
    let mut series = Vec::new();
    for (name, action) in [("Clicks", "RESPONDED"), ("Sign-ups", "SIGNED_UP")] {
        let mut values = vec![0.0; starts.len()];
        for (q, c) in responses_series(db, id, action, range.current).await? {
            if let Some(i) = bucket_of(&starts, range.current.to, range.current.from + q * QUARTER_HOUR) {
                values[i] += c as f64;
            }
        }
        series.push(Series {
            name: name.into(),
            values,
        });
    }
    series.push(Series {
        name: "Conversions".into(),
        values: spark.clone(),
    });
    Ok(CampaignPage {
        range: range_dto(range),
        performance: CampaignPerformance {
            campaign,
            conversions: n,
            value: values(v),
            sparkline: spark,
        },
        codes: campaigns::codes_ranked(db, id).await?,
        chart: ChartData {
            labels: buckets.into_iter().map(|b| b.1).collect(),
            series,
        },
    })
}

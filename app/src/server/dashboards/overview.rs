//! The overview: headline numbers against the previous period, the activity chart,
//! and the top-10 tables (credit by last touch over the default window, read from the
//! conversions' rolled-up last touch).

use crate::dto::Series;
use crate::dto::{ChartData, Kpi, Overview, RangeDto, TopRow, TopTable};
use crate::server::config::Config;
use crate::server::money::{exponent_of, format_minor_units, format_values};
use crate::server::range::{DateRange, Period, bucket_of};
use crate::server::sql::{conversions_by_time, stmt};
use crate::server::table::Table;
use sea_orm::{ConnectionTrait, DbErr, Value};
use std::collections::BTreeMap;

const QUARTER_HOUR: i64 = 15 * 60 * 1000;

/// Conversions credited and their value in minor units by currency.
pub type Credited = (i64, BTreeMap<String, i64>);

#[derive(Debug, Default, Clone)]
pub struct Totals {
    pub identities: i64,
    pub touchpoints: i64,
    pub clicks: i64,
    pub signups: i64,
    pub conversions: i64,
    pub revenue: BTreeMap<String, i64>,
}

async fn count(db: &impl ConnectionTrait, sql: &str, p: Period) -> Result<i64, DbErr> {
    let row = db
        .query_one(stmt(db.get_database_backend(), sql, [p.from.into(), p.to.into()]))
        .await?;
    Ok(row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or(0))
}

pub const VALID: &str = "active = TRUE AND confirmed = TRUE";

/// Visitors with touches, and touchpoints, of a period: one scan of one index.
async fn touch_counts(db: &impl ConnectionTrait, p: Period) -> Result<(i64, i64), DbErr> {
    let row = db
        .query_one(stmt(
            db.get_database_backend(),
            "SELECT COUNT(DISTINCT identity_id) AS visitors, COUNT(*) AS n FROM touchpoints \
             WHERE created_at >= ? AND created_at < ?",
            [p.from.into(), p.to.into()],
        ))
        .await?;
    match row {
        Some(r) => Ok((r.try_get("", "visitors")?, r.try_get("", "n")?)),
        None => Ok((0, 0)),
    }
}

async fn clicks(db: &impl ConnectionTrait, p: Period) -> Result<i64, DbErr> {
    count(
        db,
        "SELECT COUNT(*) AS n FROM responses WHERE created_at >= ? AND created_at < ? AND action = 'RESPONDED'",
        p,
    )
    .await
}

/// The headline numbers of a period. Their queries run at once, each on its own
/// connection of the read pool, and each reads one index only.
pub async fn totals(db: &impl ConnectionTrait, p: Period) -> Result<Totals, DbErr> {
    let money = async {
        db.query_all(stmt(
            db.get_database_backend(),
            &format!(
                "SELECT currency, COUNT(*) AS n, CAST(SUM(value_minor) AS BIGINT) AS v FROM {} \
                 WHERE occurred_at >= ? AND occurred_at < ? AND {VALID} GROUP BY currency",
                conversions_by_time(db.get_database_backend(), "c")
            ),
            [p.from.into(), p.to.into()],
        ))
        .await
    };
    let ((identities, touchpoints), clicks, signups, rows) = futures::try_join!(
        touch_counts(db, p),
        clicks(db, p),
        count(
            db,
            "SELECT COUNT(*) AS n FROM users WHERE created_at >= ? AND created_at < ?",
            p,
        ),
        money,
    )?;
    let mut t = Totals {
        identities,
        touchpoints,
        clicks,
        signups,
        ..Default::default()
    };
    for r in rows {
        t.conversions += r.try_get::<i64>("", "n")?;
        if let Some(v) = r.try_get::<Option<i64>>("", "v")? {
            t.revenue.insert(r.try_get("", "currency")?, v);
        }
    }
    Ok(t)
}

fn change(current: f64, previous: f64) -> Option<f64> {
    (previous != 0.0).then(|| ((current - previous) / previous * 1000.0).round() / 10.0)
}

fn kpi(key: &str, label: &str, current: i64, previous: i64) -> Kpi {
    Kpi {
        key: key.into(),
        label: label.into(),
        current: current.to_string(),
        previous: previous.to_string(),
        change_pct: change(current as f64, previous as f64),
    }
}

pub fn kpis(cur: &Totals, prev: &Totals, default_currency: &str) -> Vec<Kpi> {
    let mut out = vec![
        kpi("identities", "Visitors with touches", cur.identities, prev.identities),
        kpi("touchpoints", "Touchpoints", cur.touchpoints, prev.touchpoints),
        kpi("clicks", "Clicks", cur.clicks, prev.clicks),
        kpi("signups", "Sign-ups", cur.signups, prev.signups),
        kpi("conversions", "Conversions", cur.conversions, prev.conversions),
    ];
    let mut list: Vec<String> = cur.revenue.keys().chain(prev.revenue.keys()).cloned().collect();
    list.sort();
    list.dedup();
    if list.is_empty() {
        list.push(default_currency.to_string());
    }
    for c in list {
        let (a, b) = (
            cur.revenue.get(&c).copied().unwrap_or(0),
            prev.revenue.get(&c).copied().unwrap_or(0),
        );
        let e = exponent_of(&c);
        out.push(Kpi {
            key: format!("revenue_{c}"),
            label: format!("Revenue ({c})"),
            current: format_minor_units(a, e),
            previous: format_minor_units(b, e),
            change_pct: change(a as f64, b as f64),
        });
    }
    out
}

/// Rows of `table` per bucket `[bounds[i], bounds[i + 1])` of `col`: one count of an
/// index range each, which spares SQLite sorting every row to group it.
async fn per_bucket(db: &impl ConnectionTrait, table: &str, col: &str, bounds: &[i64]) -> Result<Vec<i64>, DbErr> {
    let n = bounds.len().saturating_sub(1);
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut values: Vec<Value> = Vec::with_capacity(3 * n);
    for (i, w) in bounds.windows(2).enumerate() {
        values.extend([(i as i64).into(), w[0].into(), w[1].into()]);
    }
    let sql = format!(
        "SELECT v.column1 AS i, (SELECT COUNT(*) FROM {table} WHERE {col} >= v.column2 AND {col} < v.column3) AS n \
         FROM (VALUES {}) v",
        crate::server::sql::value_rows(n, 3)
    );
    let mut out = vec![0; n];
    for r in db.query_all(stmt(db.get_database_backend(), &sql, values)).await? {
        let i: i64 = r.try_get("", "i")?;
        if let Some(slot) = usize::try_from(i).ok().and_then(|i| out.get_mut(i)) {
            *slot = r.try_get("", "n")?;
        }
    }
    Ok(out)
}

/// Valid conversions and their value by currency per quarter-hour since `p.from`, in
/// SQL; folded into the chart's buckets here.
async fn conversion_quarter_hours(
    db: &impl ConnectionTrait,
    p: Period,
) -> Result<Vec<(i64, String, i64, Option<i64>)>, DbErr> {
    let sql = format!(
        "SELECT (occurred_at - ?) / {QUARTER_HOUR} AS q, currency, COUNT(*) AS n, CAST(SUM(value_minor) AS BIGINT) AS v \
         FROM {} WHERE active = TRUE AND confirmed = TRUE AND occurred_at >= ? AND occurred_at < ? \
         GROUP BY q, currency",
        conversions_by_time(db.get_database_backend(), "c")
    );
    let rows = db
        .query_all(stmt(
            db.get_database_backend(),
            &sql,
            [p.from.into(), p.from.into(), p.to.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<i64>("", "q")?,
                r.try_get::<String>("", "currency")?,
                r.try_get::<i64>("", "n")?,
                r.try_get::<Option<i64>>("", "v")?,
            ))
        })
        .collect()
}

/// The activity chart of the range, and the totals of its current period that the
/// chart's counts already hold (touchpoints, sign-ups, conversions and revenue).
pub async fn chart(
    db: &impl ConnectionTrait,
    range: &DateRange,
    tz: chrono_tz::Tz,
) -> Result<(ChartData, Totals), DbErr> {
    let buckets = range.buckets(tz);
    let starts: Vec<i64> = buckets.iter().map(|b| b.0).collect();
    let p = range.current;
    // The buckets cover the period: the first starts where it does.
    let mut bounds = starts.clone();
    if let Some(first) = bounds.first_mut() {
        *first = (*first).min(p.from);
    }
    bounds.push(p.to);
    let (touches, signups, conversions) = futures::try_join!(
        per_bucket(db, "touchpoints", "created_at", &bounds),
        per_bucket(db, "users", "created_at", &bounds),
        conversion_quarter_hours(db, p),
    )?;
    let mut totals = Totals {
        touchpoints: touches.iter().sum(),
        signups: signups.iter().sum(),
        ..Default::default()
    };
    let mut converted = vec![0.0; buckets.len()];
    for (q, currency, n, v) in conversions {
        totals.conversions += n;
        if let Some(v) = v {
            *totals.revenue.entry(currency).or_default() += v;
        }
        if let Some(b) = bucket_of(&starts, p.to, p.from + q * QUARTER_HOUR) {
            converted[b] += n as f64;
        }
    }
    let series = [("Touchpoints", touches), ("Sign-ups", signups)]
        .into_iter()
        .map(|(name, counts)| Series {
            name: name.into(),
            values: counts.into_iter().map(|n| n as f64).collect(),
        })
        .chain([Series {
            name: "Conversions".into(),
            values: converted,
        }])
        .collect();
    let chart = ChartData {
        labels: buckets.into_iter().map(|b| b.1).collect(),
        series,
    };
    Ok((chart, totals))
}

/// The dimensions of the top tables: (key, title, SQL of the key, extra joins and condition).
pub const DIMENSIONS: [(&str, &str, &str, &str); 4] = [
    ("source", "Sources", "COALESCE(c.lt_source, '(none)')", ""),
    (
        "campaign",
        "Campaigns",
        "cm.name",
        "JOIN links l ON l.id = c.lt_link_id JOIN campaigns cm ON cm.id = l.campaign_id \
         WHERE (cm.starts_at IS NULL OR c.lt_at >= cm.starts_at) AND (cm.ends_at IS NULL OR c.lt_at < cm.ends_at) AND",
    ),
    (
        "link",
        "Referral links",
        "l.code",
        "JOIN links l ON l.id = c.lt_link_id WHERE",
    ),
    (
        "referring_user",
        "Referring users",
        "u.email",
        "JOIN links l ON l.id = c.lt_link_id JOIN users u ON u.id = l.owner_id WHERE",
    ),
];

/// Credited conversions and value per key of a dimension (last touch, default window).
pub async fn credited(
    db: &impl ConnectionTrait,
    dimension: &str,
    p: Period,
    limit_keys: Option<&[String]>,
) -> Result<BTreeMap<String, Credited>, DbErr> {
    let (_, _, key, joins) = DIMENSIONS
        .iter()
        .find(|d| d.0 == dimension)
        .copied()
        .unwrap_or(DIMENSIONS[0]);
    let joins = if joins.is_empty() { "WHERE" } else { joins };
    let mut values: Vec<Value> = vec![p.from.into(), p.to.into()];
    let mut extra = String::new();
    if let Some(keys) = limit_keys {
        if keys.is_empty() {
            return Ok(BTreeMap::new());
        }
        extra = format!(" AND {key} IN ({})", vec!["?"; keys.len()].join(", "));
        values.extend(keys.iter().map(|k| Value::from(k.clone())));
    }
    let sql = format!(
        "SELECT {key} AS k, c.currency, COUNT(*) AS n, CAST(SUM(c.value_minor) AS BIGINT) AS v FROM {} {joins} \
         c.occurred_at >= ? AND c.occurred_at < ? AND c.active = TRUE AND c.confirmed = TRUE{extra} GROUP BY {key}, c.currency",
        conversions_by_time(db.get_database_backend(), "c")
    );
    let mut out: BTreeMap<String, Credited> = BTreeMap::new();
    for r in db.query_all(stmt(db.get_database_backend(), &sql, values)).await? {
        let e = out.entry(r.try_get("", "k")?).or_default();
        e.0 += r.try_get::<i64>("", "n")?;
        if let Some(v) = r.try_get::<Option<i64>>("", "v")? {
            *e.1.entry(r.try_get("", "currency")?).or_default() += v;
        }
    }
    Ok(out)
}

/// The whole top table of a dimension (`DIMENSIONS`), most conversions first, for
/// export: `None` for an unknown dimension.
pub async fn top_table(db: &impl ConnectionTrait, dimension: &str, p: Period) -> Result<Option<Table>, DbErr> {
    if !DIMENSIONS.iter().any(|d| d.0 == dimension) {
        return Ok(None);
    }
    let mut rows: Vec<(String, f64, BTreeMap<String, String>)> = credited(db, dimension, p, None)
        .await?
        .into_iter()
        .map(|(k, (n, v))| (k, n as f64, format_values(&v)))
        .collect();
    rows.sort_by(|a, b| {
        b.1.partial_cmp(&a.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    Ok(Some(Table::grouped(dimension, rows)))
}

/// `credited` for every dimension of `DIMENSIONS`, in their order, in two queries at
/// once: sources from the conversions index alone, and the dimensions of a link from
/// one scan of the conversions credited to a link, with one lookup of each one's link,
/// owner and campaign.
pub async fn credited_every_dimension(
    db: &impl ConnectionTrait,
    p: Period,
) -> Result<Vec<BTreeMap<String, Credited>>, DbErr> {
    let sql = format!(
        "SELECT l.code AS link, u.email AS referring_user, \
         CASE WHEN cm.id IS NOT NULL AND (cm.starts_at IS NULL OR c.lt_at >= cm.starts_at) \
         AND (cm.ends_at IS NULL OR c.lt_at < cm.ends_at) THEN cm.name END AS campaign, \
         c.currency, COUNT(*) AS n, CAST(SUM(c.value_minor) AS BIGINT) AS v FROM {} \
         JOIN links l ON l.id = c.lt_link_id LEFT JOIN users u ON u.id = l.owner_id \
         LEFT JOIN campaigns cm ON cm.id = l.campaign_id \
         WHERE c.occurred_at >= ? AND c.occurred_at < ? AND c.active = TRUE AND c.confirmed = TRUE \
         AND c.lt_link_id IS NOT NULL GROUP BY l.code, u.email, campaign, c.currency",
        conversions_by_time(db.get_database_backend(), "c")
    );
    let (sources, rows) = futures::try_join!(
        credited(db, DIMENSIONS[0].0, p, None),
        db.query_all(stmt(db.get_database_backend(), &sql, [p.from.into(), p.to.into()])),
    )?;
    let mut out = vec![BTreeMap::<String, Credited>::new(); DIMENSIONS.len()];
    out[0] = sources;
    for r in rows {
        let currency: String = r.try_get("", "currency")?;
        let n: i64 = r.try_get("", "n")?;
        let v: Option<i64> = r.try_get("", "v")?;
        for (i, (dim, _, _, _)) in DIMENSIONS.iter().enumerate().skip(1) {
            let Some(key) = r.try_get::<Option<String>>("", dim)? else {
                continue;
            };
            let e = out[i].entry(key).or_default();
            e.0 += n;
            if let Some(v) = v {
                *e.1.entry(currency.clone()).or_default() += v;
            }
        }
    }
    Ok(out)
}

fn to_rows(list: Vec<(String, Credited)>) -> Vec<TopRow> {
    list.into_iter()
        .map(|(key, (n, v))| TopRow {
            key,
            conversions: n,
            value: format_values(&v),
        })
        .collect()
}

/// Top `n` by conversions and by value in `currency`.
pub fn rank(all: BTreeMap<String, Credited>, currency: &str, n: usize) -> (Vec<TopRow>, Vec<TopRow>) {
    let mut by_n: Vec<_> = all.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    by_n.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
    let mut by_v: Vec<_> = all
        .into_iter()
        .filter(|(_, v)| v.1.get(currency).copied().unwrap_or(0) > 0)
        .collect();
    by_v.sort_by(|a, b| {
        b.1.1
            .get(currency)
            .cmp(&a.1.1.get(currency))
            .then_with(|| a.0.cmp(&b.0))
    });
    by_n.truncate(n);
    by_v.truncate(n);
    (to_rows(by_n), to_rows(by_v))
}

pub async fn tops(db: &impl ConnectionTrait, p: Period, currency: &str) -> Result<Vec<TopTable>, DbErr> {
    let all = credited_every_dimension(db, p).await?;
    Ok(DIMENSIONS
        .iter()
        .zip(all)
        .map(|((dim, title, _, _), all)| {
            let (by_conversions, by_value) = rank(all, currency, 10);
            TopTable {
                dimension: (*dim).into(),
                title: (*title).into(),
                by_conversions,
                by_value,
            }
        })
        .collect())
}

pub fn range_dto(r: &DateRange) -> RangeDto {
    RangeDto {
        preset: r.preset.clone(),
        from: r.first_day.to_string(),
        to: r.last_day.to_string(),
        hourly: r.hourly,
        query: r.query(),
    }
}

pub async fn overview(db: &impl ConnectionTrait, config: &Config, range: &DateRange) -> Result<Overview, DbErr> {
    // Everything at once: on SQLite each query holds its own read connection, so the
    // page takes as long as its slowest query on two cores, not the sum of them all.
    // The current period's counts come from the chart's queries.
    let cur = range.current;
    let ((chart, mut totals), (identities, _), clicks, prev, tops) = futures::try_join!(
        chart(db, range, config.timezone),
        touch_counts(db, cur),
        clicks(db, cur),
        totals(db, range.previous),
        tops(db, cur, &config.conversions.default_currency),
    )?;
    totals.identities = identities;
    totals.clicks = clicks;
    Ok(Overview {
        range: range_dto(range),
        kpis: kpis(&totals, &prev, &config.conversions.default_currency),
        chart,
        tops,
        default_currency: config.conversions.default_currency.clone(),
        timezone: config.timezone.to_string(),
    })
}

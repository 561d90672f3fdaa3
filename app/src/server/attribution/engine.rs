//! The attribution engine. SQL selects each conversion's candidates (the touchpoints
//! of its canonical identity strictly before it, inside the window that applies to
//! each touch's source) and weighs them with window functions; reports aggregate the
//! weights in the database, so only the groups travel. The same query, without the
//! aggregation, gives the credits of a page of conversions.
//!
//! The weights of a conversion with n candidates, ranked by (time, id):
//! first/last touch 1 for rank 1/n; linear 1/n; position-based 1 (n = 1), ½ (n = 2),
//! else 0.4 for the first and last and 0.2/(n−2) between; time decay
//! 2^(−age/half-life) normalised to sum to 1. A conversion without candidates
//! credits the group "(none)".

use super::settings::{ConversionFilter, GroupBy, Model, Settings};
use crate::dto::{Credit, Report, ReportRow};
use crate::server::money::{exponent_of, format_weighted_minor};
use crate::server::sql::stmt;
use crate::server::time::{DAY, rfc3339};
use sea_orm::{ConnectionTrait, DbErr, Value};
use std::collections::{BTreeMap, HashMap};

pub const NONE_KEY: &str = "(none)";

fn f(expr: &str) -> String {
    format!("CAST({expr} AS DOUBLE PRECISION)")
}

/// The SQL expression of a group's key.
fn key_expr(g: GroupBy) -> &'static str {
    match g {
        GroupBy::Source => "t.source",
        GroupBy::Medium => "t.medium",
        GroupBy::UtmCampaign => "COALESCE(t.utm_campaign, '(not set)')",
        GroupBy::Channel => "t.channel",
        GroupBy::Link => "COALESCE(l.code, '(no link)')",
        GroupBy::ReferringUser => "COALESCE(u.email, '(no referring user)')",
        GroupBy::Campaign => {
            "CASE WHEN cm.id IS NOT NULL AND (cm.starts_at IS NULL OR t.created_at >= cm.starts_at) \
             AND (cm.ends_at IS NULL OR t.created_at < cm.ends_at) THEN cm.name ELSE '(no campaign)' END"
        }
    }
}

/// The weight of a candidate, from its conversion's candidate count `n`, its rank
/// `rn` and (time decay) its share `raw / raw_sum`.
fn weight_expr(model: Model) -> String {
    let w = match model {
        Model::LastTouch => "CASE WHEN x.rn = x.n THEN 1.0 ELSE 0.0 END".to_string(),
        Model::FirstTouch => "CASE WHEN x.rn = 1 THEN 1.0 ELSE 0.0 END".to_string(),
        Model::Linear => format!("{} / x.n", f("1")),
        Model::PositionBased => format!(
            "CASE WHEN x.n = 1 THEN 1.0 WHEN x.n = 2 THEN 0.5 WHEN x.rn = 1 OR x.rn = x.n THEN 0.4 ELSE {} / (x.n - 2) END",
            f("0.2")
        ),
        Model::TimeDecay => "x.raw / x.raw_sum".to_string(),
    };
    format!("{} ", f(&format!("CASE WHEN x.n = 0 THEN 1.0 ELSE {w} END")))
}

struct Query {
    sql: String,
    values: Vec<Value>,
}

/// Each conversion (filtered), left-joined to its candidates, with `n`, `rn`, the
/// time-decay terms, `gkey` and, for `detail`, the touch's own columns.
fn candidates(s: &Settings, filter: &ConversionFilter, group: GroupBy, detail: bool) -> Query {
    let mut values: Vec<Value> = Vec::new();
    let max_window = s.max_window_days() * DAY;
    values.push(max_window.into());
    let mut window_clause = String::new();
    if !s.source_windows.is_empty() || s.max_window_days() != s.window_days {
        let mut case = String::from("CASE t.source");
        for (k, d) in &s.source_windows {
            case.push_str(" WHEN ? THEN ?");
            values.push(k.clone().into());
            values.push((d * DAY).into());
        }
        case.push_str(" ELSE ? END");
        values.push((s.window_days * DAY).into());
        window_clause = format!(" AND t.created_at >= c.occurred_at - ({case})");
    }
    let half_life_ms = s.half_life_days * DAY as f64;
    let decay = format!("EXP(-0.6931471805599453 * {} / ?)", f("c.occurred_at - t.created_at"));
    let detail_cols = if detail {
        ", t.created_at AS tat, t.source AS tsource, t.medium AS tmedium, t.utm_source, t.utm_medium, t.utm_campaign, t.utm_term, \
         t.utm_content, t.utm_id, t.click_ids, t.extra_params, t.http_referrer, l.code AS link_code, u.email AS referring_user"
    } else {
        ""
    };
    let key = key_expr(group);
    let mut where_sql = Vec::new();
    let mut where_values: Vec<Value> = Vec::new();
    if filter.valid_only {
        where_sql.push("c.active = TRUE AND c.confirmed = TRUE".to_string());
    }
    if let Some(from) = filter.from {
        where_sql.push("c.occurred_at >= ?".into());
        where_values.push(from.into());
    }
    if let Some(to) = filter.to {
        where_sql.push("c.occurred_at < ?".into());
        where_values.push(to.into());
    }
    if let Some(e) = &filter.event {
        where_sql.push("c.event = ?".into());
        where_values.push(e.clone().into());
    }
    if let Some(ids) = &filter.ids {
        if ids.is_empty() {
            where_sql.push("1 = 0".into());
        } else {
            where_sql.push(format!("c.id IN ({})", vec!["?"; ids.len()].join(", ")));
            where_values.extend(ids.iter().map(|i| Value::from(*i)));
        }
    }
    let where_clause = if where_sql.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", where_sql.join(" AND "))
    };
    // The decay term appears twice (its value, and its sum over the conversion).
    let sql = format!(
        "SELECT c.id AS cid, c.currency, c.value_minor, t.id AS tid, \
         CASE WHEN t.id IS NULL THEN '{NONE_KEY}' ELSE {key} END AS gkey, \
         COUNT(t.id) OVER (PARTITION BY c.id) AS n, \
         ROW_NUMBER() OVER (PARTITION BY c.id ORDER BY t.created_at, t.id) AS rn, \
         {decay} AS raw, SUM({decay}) OVER (PARTITION BY c.id) AS raw_sum{detail_cols} \
         FROM conversions c \
         LEFT JOIN touchpoints t ON t.identity_id = c.identity_id AND t.created_at < c.occurred_at \
           AND t.created_at >= c.occurred_at - ?{window_clause} \
         LEFT JOIN links l ON l.id = t.link_id \
         LEFT JOIN users u ON u.id = l.owner_id \
         LEFT JOIN campaigns cm ON cm.id = l.campaign_id{where_clause}"
    );
    // Placeholder order: decay, decay-sum, max window, source windows, filters.
    let mut ordered: Vec<Value> = vec![half_life_ms.into(), half_life_ms.into()];
    ordered.extend(values);
    ordered.extend(where_values);
    Query { sql, values: ordered }
}

/// Credited conversions and value per group.
pub async fn report(
    db: &impl ConnectionTrait,
    s: &Settings,
    filter: &ConversionFilter,
    group: GroupBy,
) -> Result<Report, DbErr> {
    let q = candidates(s, filter, group, false);
    let sql = format!(
        "SELECT y.gkey, y.currency, SUM(y.w) AS conversions, SUM(y.w * y.value_minor) AS value FROM \
         (SELECT x.gkey, x.currency, x.value_minor, {} AS w FROM ({}) x) y \
         WHERE y.w > 0 GROUP BY y.gkey, y.currency",
        weight_expr(s.model),
        q.sql
    );
    let b = db.get_database_backend();
    let rows = db.query_all(stmt(b, &sql, q.values)).await?;
    let mut groups: BTreeMap<String, (f64, BTreeMap<String, f64>)> = BTreeMap::new();
    for r in rows {
        let key: String = r.try_get("", "gkey")?;
        let currency: String = r.try_get("", "currency")?;
        let conversions: f64 = r.try_get::<Option<f64>>("", "conversions")?.unwrap_or(0.0);
        let value: Option<f64> = r.try_get("", "value")?;
        let g = groups.entry(key).or_default();
        g.0 += conversions;
        if let Some(v) = value {
            *g.1.entry(currency).or_default() += v;
        }
    }
    let mut items: Vec<ReportRow> = groups
        .into_iter()
        .map(|(key, (conversions, value))| ReportRow {
            key,
            conversions: round6(conversions),
            value: value
                .into_iter()
                .map(|(c, v)| {
                    let e = exponent_of(&c);
                    (c, format_weighted_minor(v, e))
                })
                .collect(),
        })
        .collect();
    items.sort_by(|a, b| {
        b.conversions
            .partial_cmp(&a.conversions)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.key.cmp(&b.key))
    });
    Ok(Report {
        items,
        metadata: s.metadata(),
    })
}

/// Every model's credited conversions and value per group, in one pass over the candidates.
pub async fn compare(
    db: &impl ConnectionTrait,
    s: &Settings,
    filter: &ConversionFilter,
    group: GroupBy,
) -> Result<crate::dto::CompareReport, DbErr> {
    let q = candidates(s, filter, group, false);
    let weights: Vec<String> = Model::ALL
        .iter()
        .enumerate()
        .map(|(i, m)| format!("{} AS w{i}", weight_expr(*m)))
        .collect();
    let sums: Vec<String> = (0..Model::ALL.len())
        .map(|i| format!("SUM(y.w{i}) AS c{i}, SUM(y.w{i} * y.value_minor) AS v{i}"))
        .collect();
    let sql = format!(
        "SELECT y.gkey, y.currency, {} FROM (SELECT x.gkey, x.currency, x.value_minor, {} FROM ({}) x) y GROUP BY y.gkey, y.currency",
        sums.join(", "),
        weights.join(", "),
        q.sql
    );
    let b = db.get_database_backend();
    // Per group: conversions credited by each model, and value by currency by each model.
    type ModelSums = (Vec<f64>, Vec<BTreeMap<String, f64>>);
    let mut groups: BTreeMap<String, ModelSums> = BTreeMap::new();
    for r in db.query_all(stmt(b, &sql, q.values)).await? {
        let key: String = r.try_get("", "gkey")?;
        let currency: String = r.try_get("", "currency")?;
        let g = groups
            .entry(key)
            .or_insert_with(|| (vec![0.0; Model::ALL.len()], vec![BTreeMap::new(); Model::ALL.len()]));
        for i in 0..Model::ALL.len() {
            g.0[i] += r.try_get::<Option<f64>>("", &format!("c{i}"))?.unwrap_or(0.0);
            if let Some(v) = r.try_get::<Option<f64>>("", &format!("v{i}"))? {
                *g.1[i].entry(currency.clone()).or_default() += v;
            }
        }
    }
    let mut rows: Vec<crate::dto::CompareRow> = groups
        .into_iter()
        .filter(|(_, (c, _))| c.iter().any(|x| *x > 0.0))
        .map(|(key, (c, v))| crate::dto::CompareRow {
            key,
            conversions: c.into_iter().map(round6).collect(),
            value: v
                .into_iter()
                .map(|m| {
                    m.into_iter()
                        .map(|(cur, x)| {
                            let e = exponent_of(&cur);
                            (cur, format_weighted_minor(x, e))
                        })
                        .collect()
                })
                .collect(),
        })
        .collect();
    let last = Model::ALL.iter().position(|m| *m == s.model).unwrap_or(1);
    rows.sort_by(|a, b| {
        b.conversions[last]
            .partial_cmp(&a.conversions[last])
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.key.cmp(&b.key))
    });
    Ok(crate::dto::CompareReport {
        models: Model::ALL.iter().map(|m| m.as_str().to_string()).collect(),
        rows,
        metadata: s.metadata(),
    })
}

/// The SQL of the conversions a group is credited with: rows of `cid` and `share`.
pub fn drill_query(s: &Settings, filter: &ConversionFilter, group: GroupBy, key: &str) -> (String, Vec<Value>) {
    let q = candidates(s, filter, group, false);
    let sql = format!(
        "SELECT y.cid, SUM(y.w) AS share FROM (SELECT x.cid, x.gkey, {} AS w FROM ({}) x) y WHERE y.gkey = ? AND y.w > 0 GROUP BY y.cid",
        weight_expr(s.model),
        q.sql
    );
    let mut values = q.values;
    values.push(key.to_string().into());
    (sql, values)
}

/// The conversions a group is credited with (under the settings' model), newest
/// first, with the group's share of each; and how many there are.
pub async fn drill(
    db: &impl ConnectionTrait,
    s: &Settings,
    filter: &ConversionFilter,
    group: GroupBy,
    key: &str,
    limit: u64,
    offset: u64,
) -> Result<(Vec<(i64, f64)>, u64), DbErr> {
    let q = candidates(s, filter, group, false);
    let inner = format!(
        "SELECT y.cid, SUM(y.w) AS share FROM (SELECT x.cid, x.gkey, {} AS w FROM ({}) x) y WHERE y.gkey = ? AND y.w > 0 GROUP BY y.cid",
        weight_expr(s.model),
        q.sql
    );
    let b = db.get_database_backend();
    let mut values = q.values.clone();
    values.push(key.to_string().into());
    let total: i64 = db
        .query_one(stmt(
            b,
            &format!("SELECT COUNT(*) AS n FROM ({inner}) z"),
            values.clone(),
        ))
        .await?
        .map(|r| r.try_get("", "n"))
        .transpose()?
        .unwrap_or(0);
    values.extend([(limit as i64).into(), (offset as i64).into()]);
    let rows = db
        .query_all(stmt(
            b,
            &format!("SELECT z.cid, z.share FROM ({inner}) z ORDER BY z.cid DESC LIMIT ? OFFSET ?"),
            values,
        ))
        .await?;
    let list = rows
        .iter()
        .map(|r| Ok((r.try_get::<i64>("", "cid")?, round6(r.try_get::<f64>("", "share")?))))
        .collect::<Result<Vec<_>, DbErr>>()?;
    Ok((list, total as u64))
}

/// Weights are shown to six decimals: enough to sum back to the whole.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The credits of some conversions: for each, its candidates with their weights
/// (`with_zero`: also those the model gives nothing, as the explanation needs).
pub async fn credits(
    db: &impl ConnectionTrait,
    s: &Settings,
    ids: &[i64],
    with_zero: bool,
) -> Result<HashMap<i64, Vec<Credit>>, DbErr> {
    let mut out: HashMap<i64, Vec<Credit>> = ids.iter().map(|i| (*i, Vec::new())).collect();
    if ids.is_empty() {
        return Ok(out);
    }
    let filter = ConversionFilter {
        ids: Some(ids.to_vec()),
        ..Default::default()
    };
    let q = candidates(s, &filter, GroupBy::Source, true);
    let cmp = if with_zero { ">=" } else { ">" };
    let sql = format!(
        "SELECT y.* FROM (SELECT x.*, {} AS w FROM ({}) x) y WHERE y.tid IS NOT NULL AND y.w {cmp} 0 ORDER BY y.cid, y.tat, y.tid",
        weight_expr(s.model),
        q.sql
    );
    let b = db.get_database_backend();
    for r in db.query_all(stmt(b, &sql, q.values)).await? {
        let cid: i64 = r.try_get("", "cid")?;
        let mut params = BTreeMap::new();
        for p in crate::server::tracking::params::UTM_PARAMS {
            if let Some(v) = r.try_get::<Option<String>>("", p)? {
                params.insert(p.to_string(), v);
            }
        }
        for col in ["click_ids", "extra_params"] {
            if let Some(json) = r.try_get::<Option<String>>("", col)?
                && let Ok(map) = serde_json::from_str::<BTreeMap<String, String>>(&json)
            {
                params.extend(map);
            }
        }
        let tat: i64 = r.try_get("", "tat")?;
        out.entry(cid).or_default().push(Credit {
            touchpoint_id: r.try_get::<i64>("", "tid")?.to_string(),
            weight: round6(r.try_get::<f64>("", "w")?),
            at: rfc3339(tat),
            source: r.try_get("", "tsource")?,
            medium: r.try_get("", "tmedium")?,
            params,
            http_referrer: r.try_get("", "http_referrer")?,
            link: r.try_get("", "link_code")?,
            referring_user: r.try_get("", "referring_user")?,
        });
    }
    Ok(out)
}

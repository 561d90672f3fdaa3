//! The attribution engine. SQL selects each conversion's candidates (the touchpoints
//! of its canonical identity strictly before it, inside the window that applies to
//! each touch's source) and weighs them; reports aggregate the weights in the
//! database, so only the groups travel. The same query, without the aggregation,
//! gives the credits of a page of conversions.
//!
//! No window functions: they sort every candidate row of every conversion. Instead,
//! each conversion first gets, once, what its model needs from its candidates
//! (count, first and last by (time, id), the time-decay sum), each an index range of
//! touchpoints(identity_id, created_at); then its candidates are joined and weighed
//! row by row. First and last touch join only the touch they credit.
//!
//! The weights of a conversion with n candidates, ranked by (time, id):
//! first/last touch 1 for rank 1/n; linear 1/n; position-based 1 (n = 1), ½ (n = 2),
//! else 0.4 for the first and last and 0.2/(n−2) between; time decay
//! 2^(−age/half-life) normalised to sum to 1. A conversion without candidates
//! credits the group "(none)".

use super::settings::{ConversionFilter, GroupBy, Model, Settings};
use crate::dto::Credit;
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

/// A candidates query: its `WITH` part and its `SELECT`, to be wrapped, with the
/// values of both, in the order they are written.
pub(super) struct Query {
    pub with: String,
    pub select: String,
    pub values: Vec<Value>,
}

/// The values of a query's `?` placeholders, pushed in the order they are written.
#[derive(Default)]
struct Params {
    values: Vec<Value>,
}

impl Params {
    fn p(&mut self, v: impl Into<Value>) -> &'static str {
        self.values.push(v.into());
        "?"
    }
}

/// 2^(−`age`/half-life) in SQL, `half_life` being the placeholder of the half-life in ms.
fn decay(age: &str, half_life: &str) -> String {
    format!("EXP(-0.6931471805599453 * {} / {half_life})", f(age))
}

/// What the models asked for need to know of each conversion's candidates.
#[derive(Clone, Copy, Default)]
struct Needs {
    n: bool,
    first: bool,
    last: bool,
    decay: bool,
}

impl Needs {
    fn of(models: &[Model]) -> Needs {
        let mut n = Needs::default();
        for m in models {
            match m {
                Model::FirstTouch => n.first = true,
                Model::LastTouch => n.last = true,
                Model::Linear => n.n = true,
                Model::PositionBased => {
                    n.n = true;
                    n.first = true;
                    n.last = true;
                }
                Model::TimeDecay => {
                    n.n = true;
                    n.last = true;
                    n.decay = true;
                }
            }
        }
        n
    }
}

/// `t` is a candidate of the conversion row `cv`: its identity's touch, strictly
/// before the conversion, inside the window of its source.
fn candidate_of(s: &Settings, q: &mut Params, t: &str, cv: &str) -> String {
    let mut sql = format!(
        "{t}.identity_id = {cv}.iid AND {t}.created_at < {cv}.occ AND {t}.created_at >= {cv}.occ - {}",
        q.p(s.max_window_days() * DAY)
    );
    if !s.source_windows.is_empty() {
        let mut case = format!("CASE {t}.source");
        for (k, d) in &s.source_windows {
            case.push_str(&format!(" WHEN {} THEN {}", q.p(k.clone()), q.p(d * DAY)));
        }
        case.push_str(&format!(" ELSE {} END", q.p(s.window_days * DAY)));
        sql.push_str(&format!(" AND {t}.created_at >= {cv}.occ - ({case})"));
    }
    sql
}

/// The conversions of the filter, each with what `needs` asks of its candidates,
/// computed once per conversion (an index range of touchpoints(identity_id,
/// created_at)): `n` candidates, the `first_id` and `last_id` of them by (time, id),
/// and, for time decay, `raw_sum`, the sum of 2^(−(newest − time)/half-life). Ages
/// count from the newest candidate, so the newest weighs 1 and the sum never
/// underflows to zero; the normalised weights are the same as from the conversion.
///
/// The last candidate under the default window is rolled up on each conversion
/// (`rollup::COLUMNS`): with those settings, whatever the model, `last_id` is read
/// from there. Only `cv` reads the conversions table, from the covering index of a
/// date range.
fn conversions_cte(s: &Settings, filter: &ConversionFilter, needs: Needs, q: &mut Params) -> String {
    let mut where_sql = Vec::new();
    if filter.valid_only {
        where_sql.push("c.active = TRUE AND c.confirmed = TRUE".to_string());
    }
    if let Some(from) = filter.from {
        where_sql.push(format!("c.occurred_at >= {}", q.p(from)));
    }
    if let Some(to) = filter.to {
        where_sql.push(format!("c.occurred_at < {}", q.p(to)));
    }
    if let Some(e) = &filter.event {
        where_sql.push(format!("c.event = {}", q.p(e.clone())));
    }
    match filter.late {
        Some(true) => where_sql.push("c.occurred_at > c.created_at".into()),
        Some(false) => where_sql.push("c.occurred_at <= c.created_at".into()),
        None => {}
    }
    if let Some(ids) = &filter.ids {
        if ids.is_empty() {
            where_sql.push("1 = 0".into());
        } else {
            let list: Vec<&str> = ids.iter().map(|i| q.p(*i)).collect();
            where_sql.push(format!("c.id IN ({})", list.join(", ")));
        }
    }
    let where_clause = if where_sql.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", where_sql.join(" AND "))
    };
    let mut sql = format!(
        "WITH cv AS MATERIALIZED (SELECT c.id AS cid, c.identity_id AS iid, c.occurred_at AS occ, c.currency, \
         c.value_minor, c.lt_touchpoint_id AS rolled_id, c.created_at AS recorded_at, c.event, \
         CASE WHEN c.active = TRUE AND c.confirmed = TRUE THEN 1 ELSE 0 END AS valid FROM conversions c{where_clause})"
    );
    let mut cols = Vec::new();
    if needs.n {
        cols.push(format!(
            "(SELECT COUNT(*) FROM touchpoints t WHERE {}) AS n",
            candidate_of(s, q, "t", "cv")
        ));
    }
    let rolled = s.is_rolled_up();
    for (need, name, dir, from_rollup) in [
        (needs.first, "first_id", "ASC", false),
        (needs.last, "last_id", "DESC", rolled),
    ] {
        if need {
            let find = format!(
                "(SELECT t.id FROM touchpoints t WHERE {} ORDER BY t.created_at {dir}, t.id {dir} LIMIT 1)",
                candidate_of(s, q, "t", "cv")
            );
            // The rollup is written when the conversion is recorded; a conversion dated
            // after that (the API allows a few minutes of clock skew) may have gained
            // a touch since: look for it.
            cols.push(if from_rollup {
                format!("CASE WHEN cv.occ <= cv.recorded_at THEN cv.rolled_id ELSE {find} END AS {name}")
            } else {
                format!("{find} AS {name}")
            });
        }
    }
    sql.push_str(&format!(
        ", ag AS MATERIALIZED (SELECT cv.*, {} FROM cv)",
        cols.join(", ")
    ));
    if needs.decay {
        let h = q.p(s.half_life_days * DAY as f64);
        let cand = candidate_of(s, q, "t", "ag");
        sql.push_str(&format!(
            ", dk AS MATERIALIZED (SELECT ag.*, lt.created_at AS last_at, \
             (SELECT SUM({}) FROM touchpoints t WHERE {cand}) AS raw_sum \
             FROM ag LEFT JOIN touchpoints lt ON lt.id = ag.last_id)",
            decay("lt.created_at - t.created_at", h)
        ));
    }
    sql
}

/// The weight of candidate `t` of conversion `x` under `model` (1 for the "(none)"
/// row of a conversion without candidates).
fn weight_expr(model: Model, q: &mut Params, s: &Settings) -> String {
    let w = match model {
        Model::LastTouch => "CASE WHEN t.id = x.last_id THEN 1.0 ELSE 0.0 END".to_string(),
        Model::FirstTouch => "CASE WHEN t.id = x.first_id THEN 1.0 ELSE 0.0 END".to_string(),
        Model::Linear => format!("{} / x.n", f("1")),
        Model::PositionBased => format!(
            "CASE WHEN x.n = 1 THEN 1.0 WHEN x.n = 2 THEN 0.5 WHEN t.id = x.first_id OR t.id = x.last_id THEN 0.4 \
             ELSE {} / (x.n - 2) END",
            f("0.2")
        ),
        Model::TimeDecay => format!(
            "{} / x.raw_sum",
            decay("x.last_at - t.created_at", q.p(s.half_life_days * DAY as f64))
        ),
    };
    f(&format!("CASE WHEN t.id IS NULL THEN 1.0 ELSE {w} END"))
}

/// The tables a group key (and, for `detail`, the credit's own columns) reads
/// besides the touch: only those are joined.
fn joins(group: GroupBy, detail: bool) -> &'static str {
    const LINK: &str = " LEFT JOIN links l ON l.id = t.link_id";
    const USER: &str = " LEFT JOIN links l ON l.id = t.link_id LEFT JOIN users u ON u.id = l.owner_id";
    if detail {
        return USER;
    }
    match group {
        GroupBy::Source | GroupBy::Medium | GroupBy::UtmCampaign | GroupBy::Channel => "",
        GroupBy::Link => LINK,
        GroupBy::ReferringUser => USER,
        GroupBy::Campaign => " LEFT JOIN links l ON l.id = t.link_id LEFT JOIN campaigns cm ON cm.id = l.campaign_id",
    }
}

/// One row per (conversion, candidate), or one "(none)" row for a conversion without
/// any: `cid`, `currency`, `value_minor`, `event`, `valid` (1 or 0), `tid`, `gkey`, the weight `w{i}` of each of
/// `models`, and, for `detail`, the touch's own columns. First and last touch alone
/// join only the one touch they credit.
pub(super) fn candidates(
    s: &Settings,
    filter: &ConversionFilter,
    group: GroupBy,
    models: &[Model],
    detail: bool,
) -> Query {
    let mut q = Params::default();
    let needs = Needs::of(models);
    let with = conversions_cte(s, filter, needs, &mut q);
    let x = if needs.decay { "dk" } else { "ag" };
    let single = !detail && models.len() == 1 && matches!(models[0], Model::FirstTouch | Model::LastTouch);
    let weights: Vec<String> = models
        .iter()
        .enumerate()
        .map(|(i, m)| {
            if single {
                format!("{} AS w{i}", f("1.0"))
            } else {
                format!("{} AS w{i}", weight_expr(*m, &mut q, s))
            }
        })
        .collect();
    let join = if single {
        let pick = if models[0] == Model::FirstTouch {
            "first_id"
        } else {
            "last_id"
        };
        format!("t.id = x.{pick}")
    } else {
        candidate_of(s, &mut q, "t", "x")
    };
    let detail_cols = if detail {
        ", t.created_at AS tat, t.source AS tsource, t.medium AS tmedium, t.utm_source, t.utm_medium, t.utm_campaign, t.utm_term, \
         t.utm_content, t.utm_id, t.click_ids, t.extra_params, t.http_referrer, l.code AS link_code, u.email AS referring_user"
    } else {
        ""
    };
    let key = key_expr(group);
    let select = format!(
        "SELECT x.cid, x.currency, x.value_minor, x.event, x.valid, t.id AS tid, \
         CASE WHEN t.id IS NULL THEN '{NONE_KEY}' ELSE {key} END AS gkey, {}{detail_cols} \
         FROM {x} x LEFT JOIN touchpoints t ON {join}{}",
        weights.join(", "),
        joins(group, detail)
    );
    Query {
        with,
        select,
        values: q.values,
    }
}

/// Per group, for each model asked for (in that order): the conversions credited, and
/// their value in minor units by currency (only currencies some credited conversion
/// has a value in).
pub type Sums = BTreeMap<String, Vec<(f64, BTreeMap<String, f64>)>>;

/// The weight of model `i` in a candidates row `y`, and the value it credits (only
/// where it credits anything, so that a currency appears only where it has credit).
pub(super) const WEIGHT: &str = "y.w{i}";
pub(super) const WEIGHED_VALUE: &str = "CASE WHEN y.w{i} > 0 THEN y.w{i} * y.value_minor END";

/// `SUM`s of the credit `c{k}` and value `v{k}` of the `n` models, over rows `y` that
/// carry weights `w{i}` (`columns[k]` = i) and `value_minor`.
pub(super) fn sum_columns(columns: &[usize], credit: &str, value: &str) -> String {
    columns
        .iter()
        .enumerate()
        .map(|(k, i)| {
            let w = credit.replace("{i}", &i.to_string());
            let v = value.replace("{i}", &i.to_string());
            format!("SUM({w}) AS c{k}, SUM({v}) AS v{k}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adds rows of `gkey`, `currency`, `c{k}` and `v{k}` (k < `n`) to `sums`.
pub(super) fn add_rows(sums: &mut Sums, rows: Vec<sea_orm::QueryResult>, n: usize) -> Result<(), DbErr> {
    for r in rows {
        let key: String = r.try_get("", "gkey")?;
        let currency: String = r.try_get("", "currency")?;
        let g = sums.entry(key).or_insert_with(|| vec![(0.0, BTreeMap::new()); n]);
        for (k, slot) in g.iter_mut().enumerate() {
            slot.0 += r.try_get::<Option<f64>>("", &format!("c{k}"))?.unwrap_or(0.0);
            if let Some(v) = r.try_get::<Option<f64>>("", &format!("v{k}"))? {
                *slot.1.entry(currency.clone()).or_default() += v;
            }
        }
    }
    Ok(())
}

/// Adds `more` to `sums`.
pub(super) fn merge_sums(sums: &mut Sums, more: Sums) {
    for (key, models) in more {
        match sums.get_mut(&key) {
            None => {
                sums.insert(key, models);
            }
            Some(g) => {
                for (slot, (c, values)) in g.iter_mut().zip(models) {
                    slot.0 += c;
                    for (cur, v) in values {
                        *slot.1.entry(cur).or_default() += v;
                    }
                }
            }
        }
    }
}

/// The sums of `models` by searching every conversion's candidates.
pub async fn search_sums(
    db: &impl ConnectionTrait,
    s: &Settings,
    filter: &ConversionFilter,
    group: GroupBy,
    models: &[Model],
) -> Result<Sums, DbErr> {
    let q = candidates(s, filter, group, models, false);
    let columns: Vec<usize> = (0..models.len()).collect();
    let sql = format!(
        "{} SELECT y.gkey, y.currency, {} FROM ({}) y GROUP BY y.gkey, y.currency",
        q.with,
        sum_columns(&columns, WEIGHT, WEIGHED_VALUE),
        q.select
    );
    let rows = db.query_all(stmt(db.get_database_backend(), &sql, q.values)).await?;
    let mut sums = Sums::new();
    add_rows(&mut sums, rows, models.len())?;
    Ok(sums)
}

/// The SQL of the conversions a group is credited with: a `WITH` part, and a query
/// of rows of `cid` and `share` to wrap in it; and their values, in that order.
pub fn drill_query(s: &Settings, filter: &ConversionFilter, group: GroupBy, key: &str) -> (String, String, Vec<Value>) {
    let q = candidates(s, filter, group, &[s.model], false);
    let sql = format!(
        "SELECT y.cid, SUM(y.w0) AS share FROM ({}) y WHERE y.gkey = ? AND y.w0 > 0 GROUP BY y.cid",
        q.select
    );
    let mut values = q.values;
    values.push(key.to_string().into());
    (q.with, sql, values)
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
    let (with, inner, mut values) = drill_query(s, filter, group, key);
    let b = db.get_database_backend();
    let total: i64 = db
        .query_one(stmt(
            b,
            &format!("{with} SELECT COUNT(*) AS n FROM ({inner}) z"),
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
            &format!("{with} SELECT z.cid, z.share FROM ({inner}) z ORDER BY z.cid DESC LIMIT ? OFFSET ?"),
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
    let q = candidates(s, &filter, GroupBy::Source, &[s.model], true);
    let cmp = if with_zero { ">=" } else { ">" };
    let sql = format!(
        "{} SELECT y.* FROM ({}) y WHERE y.tid IS NOT NULL AND y.w0 {cmp} 0 ORDER BY y.cid, y.tat, y.tid",
        q.with, q.select
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
            weight: round6(r.try_get::<f64>("", "w0")?),
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

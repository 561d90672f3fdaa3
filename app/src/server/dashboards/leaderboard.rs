//! Referring users and links ranked by sign-ups and by credited value, and a user's page.

use super::overview::credited;
use crate::dto::{DrillRow, LeaderRow, Leaderboard, ReferredUser, UserDetail};
use crate::error::AppError;
use crate::server::config::Config;
use crate::server::money::format_values;
use crate::server::range::{DateRange, Period};
use crate::server::sql::stmt;
use crate::server::table::{Cell, Table};
use crate::server::time::display;
use sea_orm::{ConnectionTrait, DbErr};
use std::collections::{BTreeMap, HashMap};

const TOP: usize = 20;

/// Sign-ups per referring user (`by_user`) or per link, in the period.
async fn signups(db: &impl ConnectionTrait, p: Period, by_user: bool) -> Result<HashMap<String, (String, i64)>, DbErr> {
    let (id, name, join) = if by_user {
        ("o.id", "o.email", "JOIN users o ON o.id = l.owner_id")
    } else {
        ("l.id", "l.code", "")
    };
    let sql = format!(
        "SELECT {id} AS id, {name} AS name, COUNT(*) AS n FROM users r JOIN links l ON l.id = r.referred_by_link_id {join} \
         WHERE r.created_at >= ? AND r.created_at < ? GROUP BY {id}, {name}"
    );
    let mut out = HashMap::new();
    for r in db
        .query_all(stmt(db.get_database_backend(), &sql, [p.from.into(), p.to.into()]))
        .await?
    {
        out.insert(
            r.try_get::<String>("", "name")?,
            (r.try_get::<i64>("", "id")?.to_string(), r.try_get("", "n")?),
        );
    }
    Ok(out)
}

fn value_strings(v: &BTreeMap<String, i64>) -> BTreeMap<String, String> {
    format_values(v)
}

async fn board(
    db: &impl ConnectionTrait,
    p: Period,
    by_user: bool,
    currency: &str,
) -> Result<(Vec<LeaderRow>, Vec<LeaderRow>), DbErr> {
    let (signed, credit) = futures::try_join!(
        signups(db, p, by_user),
        credited(db, if by_user { "referring_user" } else { "link" }, p, None),
    )?;
    let mut names: Vec<String> = signed.keys().chain(credit.keys()).cloned().collect();
    names.sort();
    names.dedup();
    let rows: Vec<(LeaderRow, i64)> = names
        .into_iter()
        .map(|name| {
            let (id, s) = signed.get(&name).cloned().unwrap_or_default();
            let (n, v) = credit.get(&name).cloned().unwrap_or_default();
            let in_currency = v.get(currency).copied().unwrap_or(0);
            (
                LeaderRow {
                    id,
                    name,
                    signups: s,
                    conversions: n,
                    value: value_strings(&v),
                },
                in_currency,
            )
        })
        .collect();
    let mut by_signups: Vec<&(LeaderRow, i64)> = rows.iter().filter(|r| r.0.signups > 0).collect();
    by_signups.sort_by(|a, b| b.0.signups.cmp(&a.0.signups).then_with(|| a.0.name.cmp(&b.0.name)));
    let mut by_value: Vec<&(LeaderRow, i64)> = rows.iter().filter(|r| r.1 > 0).collect();
    by_value.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.name.cmp(&b.0.name)));
    Ok((
        by_signups.into_iter().take(TOP).map(|r| r.0.clone()).collect(),
        by_value.into_iter().take(TOP).map(|r| r.0.clone()).collect(),
    ))
}

pub async fn leaderboard(db: &impl ConnectionTrait, config: &Config, range: &DateRange) -> Result<Leaderboard, DbErr> {
    let cur = &config.conversions.default_currency;
    // Both boards at once, each query on its own read connection.
    let ((users_by_signups, users_by_value), (links_by_signups, links_by_value)) = futures::try_join!(
        board(db, range.current, true, cur),
        board(db, range.current, false, cur),
    )?;
    Ok(Leaderboard {
        range: super::overview::range_dto(range),
        users_by_signups,
        users_by_value,
        links_by_signups,
        links_by_value,
        default_currency: cur.clone(),
    })
}

/// One board of the leaderboard as a table: referring users (or links), ranked by
/// sign-ups (or by value).
pub async fn leaderboard_table(
    db: &impl ConnectionTrait,
    config: &Config,
    range: &DateRange,
    users: bool,
    by_value: bool,
) -> Result<Table, DbErr> {
    let b = leaderboard(db, config, range).await?;
    let rows = match (users, by_value) {
        (true, false) => b.users_by_signups,
        (true, true) => b.users_by_value,
        (false, false) => b.links_by_signups,
        (false, true) => b.links_by_value,
    };
    let rows = rows
        .into_iter()
        .map(|l| {
            let cells = vec![
                Cell::Text(l.name),
                Cell::Num(l.signups.to_string()),
                Cell::Num(l.conversions.to_string()),
            ];
            (cells, l.value)
        })
        .collect();
    Ok(Table::valued(&["name", "signups", "conversions"], rows))
}

/// A user's page: their links, the users they referred, and the conversions credited to them.
pub async fn user_detail(
    db: &crate::server::db::Database,
    config: &Config,
    user_id: i64,
) -> Result<UserDetail, AppError> {
    use crate::server::entities::users;
    use sea_orm::EntityTrait;
    let read = &db.read;
    let u = users::Entity::find_by_id(user_id)
        .one(read)
        .await?
        .ok_or_else(|| AppError::not_found("No such user."))?;
    let row =
        crate::server::accounts::service::list_users(db, &u.email, crate::paging::PageNumber::FIRST, config.timezone)
            .await?
            .items
            .into_iter()
            .find(|r| r.id == u.id.to_string())
            .ok_or_else(|| AppError::not_found("No such user."))?;
    let identity_id = crate::server::tracking::admin::identity_of_user(db, u.id)
        .await?
        .map(|i| i.to_string());
    let links: Vec<_> = crate::server::referrals::links::mine(read, config, u.id)
        .await?
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    let b = read.get_database_backend();
    let referred = read
        .query_all(stmt(
            b,
            "SELECT r.email, r.display_name, r.created_at, l.code FROM users r JOIN links l ON l.id = r.referred_by_link_id \
             WHERE l.owner_id = ? ORDER BY r.created_at DESC LIMIT 200",
            [u.id.into()],
        ))
        .await?
        .iter()
        .map(|r| {
            Ok(ReferredUser {
                email: r.try_get("", "email")?,
                display_name: r.try_get("", "display_name")?,
                joined: display(r.try_get("", "created_at")?, config.timezone),
                link: r.try_get("", "code")?,
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    let credited_rows = read
        .query_all(stmt(
            b,
            "SELECT c.* FROM conversions c JOIN links l ON l.id = c.lt_link_id WHERE l.owner_id = ? AND c.active = TRUE AND c.confirmed = TRUE \
             ORDER BY c.occurred_at DESC, c.id DESC LIMIT 100",
            [u.id.into()],
        ))
        .await?;
    let mut credited = Vec::new();
    for r in credited_rows {
        use sea_orm::FromQueryResult;
        let c = crate::server::entities::conversions::Model::from_query_result(&r, "")?;
        credited.push(DrillRow {
            at: display(c.occurred_at, config.timezone),
            conversion: crate::server::conversions::to_dto(&c),
            share: 1.0,
        });
    }
    let totals = read
        .query_all(stmt(
            b,
            "SELECT c.currency, COUNT(*) AS n, CAST(SUM(c.value_minor) AS BIGINT) AS v FROM conversions c JOIN links l ON l.id = c.lt_link_id \
             WHERE l.owner_id = ? AND c.active = TRUE AND c.confirmed = TRUE GROUP BY c.currency",
            [u.id.into()],
        ))
        .await?;
    let mut credited_total = 0;
    let mut value = BTreeMap::new();
    for r in totals {
        credited_total += r.try_get::<i64>("", "n")?;
        if let Some(v) = r.try_get::<Option<i64>>("", "v")? {
            value.insert(r.try_get::<String>("", "currency")?, v);
        }
    }
    Ok(UserDetail {
        user: row,
        identity_id,
        links,
        referred,
        credited,
        credited_total,
        credited_value: value_strings(&value),
    })
}

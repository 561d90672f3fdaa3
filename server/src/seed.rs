//! `tributary seed-demo`: a realistic, deterministic data set for demos and benchmarks.
//!
//! Users with personal links, referrer codes sorted into campaigns, visitors whose
//! landings come from search, social, email, ads and referral links (clicks recorded
//! as responses too), sign-ups, and conversions in two currencies, some pending or
//! cancelled. Everything is written in large multi-row batches with explicit ids; no
//! argon2 per user (every demo account shares one precomputed hash of
//! `DEMO_PASSWORD`). The same seed and `--until` day give the same data.

use app::server::db::Database;
use app::server::sql::{stmt, value_rows};
use app::server::time::{DAY, MINUTE};
use chrono::{NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, TransactionTrait, Value};

pub const DEMO_PASSWORD: &str = "demo password 2026";
/// Rows per INSERT statement (under SQLite's 32,766 bound parameters for 18 columns).
const BATCH: usize = 1000;

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub users: u64,
    pub days: i64,
    pub seed: u64,
    pub conversions: u64,
    /// The last day of the data (UTC); today by default.
    pub until: Option<NaiveDate>,
    pub quiet: bool,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Seeded {
    pub users: u64,
    pub identities: u64,
    pub touchpoints: u64,
    pub responses: u64,
    pub conversions: u64,
}

/// A table's rows, flushed in batches.
struct Buffer {
    table: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Value>,
    count: u64,
}

impl Buffer {
    fn new(table: &'static str, columns: &'static [&'static str]) -> Self {
        Buffer {
            table,
            columns,
            rows: Vec::with_capacity(columns.len() * BATCH),
            count: 0,
        }
    }

    /// Buffers a row. Nothing is written here: the caller flushes all its buffers
    /// together, parents first, so a row never reaches the database before the rows
    /// its foreign keys point at.
    fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.extend(row);
        self.count += 1;
    }

    fn full(&self) -> bool {
        self.rows.len() >= self.columns.len() * BATCH
    }

    async fn flush(&mut self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let n = self.rows.len() / self.columns.len();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            self.table,
            self.columns.join(", "),
            value_rows(n, self.columns.len())
        );
        let values = std::mem::take(&mut self.rows);
        db.execute(stmt(db.get_database_backend(), &sql, values)).await?;
        self.rows.reserve(self.columns.len() * BATCH);
        Ok(())
    }
}

/// How a visitor arrived: (weight, source, medium, channel, utm_source, utm_medium, referrer, click id, is a link click).
struct Arrival {
    weight: u32,
    source: &'static str,
    medium: &'static str,
    channel: &'static str,
    utm_source: Option<&'static str>,
    utm_medium: Option<&'static str>,
    referrer: Option<&'static str>,
    click_id: Option<&'static str>,
    click: bool,
}

const ARRIVALS: &[Arrival] = &[
    Arrival {
        weight: 22,
        source: "google",
        medium: "organic",
        channel: "organic search",
        utm_source: None,
        utm_medium: None,
        referrer: Some("https://www.google.com/"),
        click_id: None,
        click: false,
    },
    Arrival {
        weight: 14,
        source: "google",
        medium: "cpc",
        channel: "paid search",
        utm_source: Some("google"),
        utm_medium: Some("cpc"),
        referrer: Some("https://www.google.com/"),
        click_id: Some("gclid"),
        click: false,
    },
    Arrival {
        weight: 9,
        source: "facebook",
        medium: "social",
        channel: "social",
        utm_source: None,
        utm_medium: None,
        referrer: Some("https://l.facebook.com/"),
        click_id: Some("fbclid"),
        click: false,
    },
    Arrival {
        weight: 7,
        source: "facebook",
        medium: "cpc",
        channel: "paid social",
        utm_source: Some("facebook"),
        utm_medium: Some("cpc"),
        referrer: Some("https://l.facebook.com/"),
        click_id: Some("fbclid"),
        click: false,
    },
    Arrival {
        weight: 12,
        source: "newsletter",
        medium: "email",
        channel: "email",
        utm_source: Some("newsletter"),
        utm_medium: Some("email"),
        referrer: None,
        click_id: None,
        click: false,
    },
    Arrival {
        weight: 16,
        source: "referral",
        medium: "referral",
        channel: "referral",
        utm_source: None,
        utm_medium: None,
        referrer: None,
        click_id: None,
        click: true,
    },
    Arrival {
        weight: 5,
        source: "linkedin",
        medium: "social",
        channel: "social",
        utm_source: None,
        utm_medium: None,
        referrer: Some("https://www.linkedin.com/"),
        click_id: None,
        click: false,
    },
    Arrival {
        weight: 3,
        source: "bing",
        medium: "organic",
        channel: "organic search",
        utm_source: None,
        utm_medium: None,
        referrer: Some("https://www.bing.com/"),
        click_id: None,
        click: false,
    },
    Arrival {
        weight: 6,
        source: "partner-blog.example",
        medium: "referral",
        channel: "referral",
        utm_source: None,
        utm_medium: None,
        referrer: Some("https://partner-blog.example/post"),
        click_id: None,
        click: false,
    },
    Arrival {
        weight: 3,
        source: "duckduckgo",
        medium: "organic",
        channel: "organic search",
        utm_source: None,
        utm_medium: None,
        referrer: Some("https://duckduckgo.com/"),
        click_id: None,
        click: false,
    },
    Arrival {
        weight: 3,
        source: "(direct)",
        medium: "(none)",
        channel: "other",
        utm_source: None,
        utm_medium: None,
        referrer: None,
        click_id: None,
        click: false,
    },
];

const CAMPAIGNS: &[(&str, &str, &str)] = &[
    ("Affiliates", "^aff-\\d+$", "regex"),
    ("Facebook", "fb", "substring"),
    ("Partners", "partner", "substring"),
];
const REFERRER_CODES: &[&str] = &[
    "partner-blog",
    "partner-news",
    "partner-podcast",
    "summer-fb",
    "winter-fb",
    "spring-fb",
    "aff-1",
    "aff-2",
    "aff-3",
    "aff-4",
    "aff-5",
    "aff-6",
    "aff-7",
    "aff-8",
    "conference",
    "flyer",
];
const UTM_CAMPAIGNS: &[&str] = &[
    "spring-sale",
    "summer-sale",
    "black-friday",
    "onboarding",
    "webinar",
    "brand",
];

fn pick(rng: &mut StdRng) -> &'static Arrival {
    let total: u32 = ARRIVALS.iter().map(|a| a.weight).sum();
    let mut n = rng.gen_range(0..total);
    for a in ARRIVALS {
        if n < a.weight {
            return a;
        }
        n -= a.weight;
    }
    &ARRIVALS[0]
}

fn hex128(rng: &mut StdRng) -> String {
    hex::encode(rng.r#gen::<[u8; 16]>())
}

fn code(rng: &mut StdRng) -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..9)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

async fn max_id(db: &impl ConnectionTrait, table: &str) -> Result<i64, DbErr> {
    let row = db
        .query_one(stmt(
            db.get_database_backend(),
            &format!("SELECT COALESCE(MAX(id), 0) AS m FROM {table}"),
            [],
        ))
        .await?;
    Ok(row.map(|r| r.try_get::<i64>("", "m")).transpose()?.unwrap_or(0))
}

/// Computes every out-of-date day of the credit by day, with the window and half-life
/// the database was started with (recorded at startup).
pub async fn settle_credit_days(conn: &sea_orm::DatabaseConnection) -> Result<(), Box<dyn std::error::Error>> {
    let mut meta = std::collections::HashMap::new();
    for r in conn
        .query_all(stmt(conn.get_database_backend(), "SELECT key, value FROM app_meta", []))
        .await?
    {
        meta.insert(r.try_get::<String>("", "key")?, r.try_get::<String>("", "value")?);
    }
    let get = |k: &str| meta.get(k).and_then(|v| v.parse::<f64>().ok());
    let (Some(window), Some(half_life)) = (get("attribution_window_days"), get("attribution_half_life_days")) else {
        return Err("the database was not prepared by startup (no recorded attribution window)".into());
    };
    let settings = app::server::attribution::Settings::rolled_up(window as i64, half_life);
    while app::server::attribution::credit_days::settle(conn, &settings, 64).await? > 0 {}
    Ok(())
}

pub async fn seed_demo(db: &Database, o: &SeedOptions) -> Result<Seeded, Box<dyn std::error::Error>> {
    let conn = &db.write;
    if max_id(conn, "touchpoints").await? > 0 || max_id(conn, "conversions").await? > 0 {
        return Err("seed-demo fills a fresh database, and this one already has touchpoints or conversions.".into());
    }
    let mut rng = StdRng::seed_from_u64(o.seed);
    let until_day = o.until.unwrap_or_else(|| Utc::now().date_naive());
    let end = until_day
        .and_hms_opt(23, 59, 59)
        .map(|d| d.and_utc().timestamp_millis())
        .unwrap_or(0);
    let start = end - o.days * DAY;
    let hash = app::server::accounts::password::hash(DEMO_PASSWORD.to_string()).await?;
    let bar = if o.quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new(o.conversions);
        b.set_style(
            ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} conversions [{elapsed_precise}, eta {eta}]")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    };
    bar.set_message("seeding");

    let user0 = max_id(conn, "users").await?;
    let identity0 = max_id(conn, "identities").await?;
    let link0 = max_id(conn, "links").await?;
    let campaign0 = max_id(conn, "campaigns").await?;
    let mut out = Seeded::default();

    let txn = conn.begin().await?;
    // Campaigns and referrer codes.
    let mut campaigns = Buffer::new(
        "campaigns",
        &[
            "id",
            "name",
            "name_key",
            "description",
            "pattern",
            "pattern_kind",
            "active",
            "created_at",
        ],
    );
    for (i, (name, pattern, kind)) in CAMPAIGNS.iter().enumerate() {
        campaigns.push(vec![
            (campaign0 + 1 + i as i64).into(),
            (*name).into(),
            name.to_lowercase().into(),
            "Demo campaign".into(),
            (*pattern).into(),
            (*kind).into(),
            true.into(),
            start.into(),
        ]);
    }
    campaigns.flush(&txn).await?;
    let campaign_of = |code: &str| -> Option<i64> {
        if code.starts_with("aff-") {
            Some(campaign0 + 1)
        } else if code.contains("fb") {
            Some(campaign0 + 2)
        } else if code.contains("partner") {
            Some(campaign0 + 3)
        } else {
            None
        }
    };
    let link_cols: &[&str] = &[
        "id",
        "code",
        "code_key",
        "owner_id",
        "label",
        "destination",
        "active",
        "campaign_id",
        "is_personal",
        "auto_created",
        "created_at",
        "updated_at",
    ];
    let mut links = Buffer::new("links", link_cols);
    let mut link_ids: Vec<(i64, Option<i64>)> = Vec::new(); // (link id, owner user id)
    let mut next_link = link0;
    for c in REFERRER_CODES {
        next_link += 1;
        links.push(vec![
            next_link.into(),
            (*c).into(),
            c.to_string().into(),
            Option::<i64>::None.into(),
            (*c).into(),
            "/".into(),
            true.into(),
            campaign_of(c).into(),
            false.into(),
            true.into(),
            start.into(),
            start.into(),
        ]);
        link_ids.push((next_link, None));
    }

    // Users, each with a personal link and a canonical identity.
    let user_cols: &[&str] = &[
        "id",
        "email",
        "display_name",
        "password_hash",
        "role",
        "active",
        "auth_epoch",
        "created_at",
        "referred_by_link_id",
    ];
    let mut users = Buffer::new("users", user_cols);
    let identity_cols: &[&str] = &["id", "public_id", "user_id", "created_at"];
    let mut identities = Buffer::new("identities", identity_cols);
    let mut next_identity = identity0;
    for n in 0..o.users {
        let id = user0 + 1 + n as i64;
        let created = rng.gen_range(start..end);
        users.push(vec![
            id.into(),
            format!("demo{n}.s{}@demo.example", o.seed).into(),
            format!("Demo User {n}").into(),
            hash.clone().into(),
            if n == 0 { "admin" } else { "member" }.into(),
            true.into(),
            0i64.into(),
            created.into(),
            Option::<i64>::None.into(),
        ]);
        next_link += 1;
        let personal = code(&mut rng);
        links.push(vec![
            next_link.into(),
            personal.clone().into(),
            personal.into(),
            Some(id).into(),
            "Personal".into(),
            "/".into(),
            true.into(),
            Option::<i64>::None.into(),
            true.into(),
            false.into(),
            created.into(),
            created.into(),
        ]);
        link_ids.push((next_link, Some(id)));
        next_identity += 1;
        identities.push(vec![
            next_identity.into(),
            hex128(&mut rng).into(),
            Some(id).into(),
            created.into(),
        ]);
        if users.full() || links.full() || identities.full() {
            for b in [&mut users, &mut links, &mut identities] {
                b.flush(&txn).await?;
            }
        }
    }
    out.users = o.users;
    for b in [&mut users, &mut links, &mut identities] {
        b.flush(&txn).await?;
    }
    txn.commit().await?;

    // Visitors: touches, clicks and conversions.
    let response_cols: &[&str] = &[
        "public_id",
        "link_id",
        "identity_id",
        "user_id",
        "action",
        "http_referrer",
        "user_agent",
        "client_ip",
        "created_at",
    ];
    let conversion_cols: &[&str] = &[
        "identity_id",
        "user_id",
        "event",
        "value_minor",
        "currency",
        "custom_data",
        "source_type",
        "source_id",
        "confirmed",
        "active",
        "occurred_at",
        "created_at",
    ];
    let mut touches = Buffer::new("touchpoints", &app::server::writer::TOUCH_COLUMNS);
    let mut responses = Buffer::new("responses", response_cols);
    let mut conversions = Buffer::new("conversions", conversion_cols);
    let mut identities = Buffer::new("identities", identity_cols);
    let mut made = 0u64;
    let mut txn = conn.begin().await?;
    let mut order = 0u64;
    let mut visitors = 0u64;
    while made < o.conversions {
        visitors += 1;
        next_identity += 1;
        let identity = next_identity;
        // A fifth of the converting visitors are users (repeat customers).
        let user = (o.users > 0 && rng.gen_ratio(1, 5)).then(|| user0 + 1 + rng.gen_range(0..o.users) as i64);
        let first_seen = rng.gen_range(start..end);
        if user.is_none() {
            identities.push(vec![
                identity.into(),
                hex128(&mut rng).into(),
                Option::<i64>::None.into(),
                first_seen.into(),
            ]);
        }
        let identity = match user {
            // A user's touches belong to their canonical identity.
            Some(u) => identity0 + (u - user0),
            None => identity,
        };
        let n_conversions = if rng.gen_ratio(1, 4) { 2 } else { 1 };
        let mut at = first_seen;
        'visit: for _ in 0..n_conversions {
            let n_touches = rng.gen_range(1..=5);
            for _ in 0..n_touches {
                at += rng.gen_range(10 * MINUTE..6 * DAY);
                if at > end {
                    // Nothing in the future: this visitor has not come back (yet).
                    break 'visit;
                }
                let a = pick(&mut rng);
                let campaign = a
                    .utm_source
                    .map(|_| UTM_CAMPAIGNS[rng.gen_range(0..UTM_CAMPAIGNS.len())]);
                let link = a.click.then(|| link_ids[rng.gen_range(0..link_ids.len())]);
                let click_ids = a
                    .click_id
                    .map(|k| format!("{{\"{k}\":\"{}\"}}", &hex128(&mut rng)[..16]));
                touches.push(vec![
                    identity.into(),
                    at.into(),
                    link.map(|l| l.0).into(),
                    "/".into(),
                    a.referrer.into(),
                    a.referrer
                        .and_then(|r| url::Url::parse(r).ok())
                        .and_then(|u| u.host_str().map(str::to_string))
                        .into(),
                    a.utm_source.into(),
                    a.utm_medium.into(),
                    campaign.into(),
                    Value::from(None::<String>),
                    Value::from(None::<String>),
                    Value::from(None::<String>),
                    click_ids.into(),
                    Value::from(None::<String>),
                    a.source.into(),
                    a.medium.into(),
                    a.channel.into(),
                    rng.r#gen::<i64>().into(),
                ]);
                if let Some((link_id, owner)) = link
                    && owner != user
                {
                    responses.push(vec![
                        hex128(&mut rng).into(),
                        link_id.into(),
                        Some(identity).into(),
                        user.into(),
                        "RESPONDED".into(),
                        Value::from(None::<String>),
                        "Mozilla/5.0 (demo)".into(),
                        "203.0.113.0".into(),
                        at.into(),
                    ]);
                    out.responses += 1;
                }
            }
            at += rng.gen_range(MINUTE..3 * DAY);
            if at > end {
                // Touched but not converted by the end of the data.
                break 'visit;
            }
            let roll = rng.gen_range(0..100);
            let (event, value, currency) = if roll < 60 {
                let cents = rng.gen_range(500..30_000i64);
                ("purchase", Some(cents), if rng.gen_ratio(1, 5) { "USD" } else { "EUR" })
            } else if roll < 85 {
                ("signup", None, "EUR")
            } else {
                ("trial", None, "EUR")
            };
            let status = rng.gen_range(0..100);
            let (confirmed, active) = match status {
                0..85 => (true, true),
                85..95 => (false, true),
                _ => (true, false),
            };
            order += 1;
            conversions.push(vec![
                Some(identity).into(),
                user.into(),
                event.into(),
                value.into(),
                currency.into(),
                "{}".into(),
                (event == "purchase").then_some("order").into(),
                (event == "purchase").then(|| format!("demo-{order}")).into(),
                confirmed.into(),
                active.into(),
                at.into(),
                at.into(),
            ]);
            made += 1;
            if made.is_multiple_of(10_000) {
                bar.set_position(made);
            }
            if made >= o.conversions {
                break;
            }
        }
        // Parents first: identities before the rows that point at them. A visitor adds
        // at most a dozen rows, so a batch stays far below SQLite's parameter limit.
        let commit = visitors.is_multiple_of(20_000);
        if commit || identities.full() || touches.full() || responses.full() || conversions.full() {
            for b in [&mut identities, &mut touches, &mut responses, &mut conversions] {
                b.flush(&txn).await?;
            }
        }
        // Commit every so often: large transactions, bounded memory and WAL.
        if commit {
            txn.commit().await?;
            txn = conn.begin().await?;
        }
    }
    for b in [&mut identities, &mut touches, &mut responses, &mut conversions] {
        b.flush(&txn).await?;
    }
    txn.commit().await?;
    bar.finish_with_message("seeded");
    out.identities = o.users + identities.count;
    out.touchpoints = touches.count;
    out.conversions = conversions.count;

    // Fresh statistics first: without them PostgreSQL plans the correlated updates
    // below as if the tables were empty (27 s instead of 0.2 s for 4,000 conversions).
    conn.execute_unprepared("ANALYZE").await?;
    // Sign-ups credited to links: users referred by the link of a click.
    conn.execute(stmt(
        conn.get_database_backend(),
        "UPDATE users SET referred_by_link_id = (SELECT r.link_id FROM responses r JOIN identities i ON i.id = r.identity_id \
         WHERE i.user_id = users.id AND r.created_at <= users.created_at ORDER BY r.created_at DESC LIMIT 1) WHERE referred_by_link_id IS NULL",
        [],
    ))
    .await?;
    bar.set_message("last touches");
    app::server::tracking::rollup::refresh(conn, app::server::tracking::rollup::Scope::All).await?;
    bar.set_message("credit by day");
    settle_credit_days(conn).await?;
    if conn.get_database_backend() == DatabaseBackend::Postgres {
        for t in [
            "users",
            "identities",
            "links",
            "campaigns",
            "touchpoints",
            "responses",
            "conversions",
        ] {
            conn.execute(stmt(
                DatabaseBackend::Postgres,
                &format!("SELECT setval(pg_get_serial_sequence('{t}', 'id'), GREATEST((SELECT COALESCE(MAX(id), 0) FROM {t}), 1))"),
                [],
            ))
            .await?;
        }
        // Statistics, and the visibility map that lets reports read only indexes.
        conn.execute_unprepared("VACUUM ANALYZE").await?;
    } else {
        conn.execute_unprepared("ANALYZE").await?;
        // Seeding leaves gigabytes of WAL behind: fold it into the database file now,
        // rather than have the first reports read through it while the background
        // checkpoints copy it. A checkpoint already running makes this one busy: retry.
        for _ in 0..600 {
            let busy = conn
                .query_one(stmt(DatabaseBackend::Sqlite, "PRAGMA wal_checkpoint(TRUNCATE)", []))
                .await?
                .map(|r| r.try_get_by_index::<i64>(0))
                .transpose()?
                .unwrap_or(0);
            if busy == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    Ok(out)
}

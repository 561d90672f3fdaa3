//! Report benchmarks on a `seed-demo` data set: server-rendered dashboard pages (the
//! overview, campaigns, leaderboards, the explorer under every model), the attribution
//! API, and the conversions list with credits. Each request is timed end to end over
//! loopback, one at a time, after one warm-up; min / median / max are printed.
//!
//! ```sh
//! cargo bench -p server --bench reports -- --db all                      # 1,000,000 conversions
//! cargo bench -p server --bench reports -- --db sqlite --conversions 100000 --runs 3
//! ```
//! The seeded databases are kept for the next run: SQLite under
//! `$TRIBUTARY_BENCH_DIR` (default `target/bench-data`), PostgreSQL as database
//! `tributary_bench_demo_<conversions>` at `TEST_PG_ADMIN_URL`
//! (default postgres://postgres@127.0.0.1:5432/postgres). Seeding 1M conversions
//! takes a few minutes once. `--reseed` starts over.

use app::server::config::Config;
use server::Application;
use server::seed::{DEMO_PASSWORD, SeedOptions};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Db {
    Sqlite,
    Postgres,
}

struct Args {
    dbs: Vec<Db>,
    conversions: u64,
    runs: usize,
    reseed: bool,
    only: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        dbs: vec![Db::Sqlite],
        conversions: 1_000_000,
        runs: 5,
        reseed: false,
        only: None,
    };
    let mut it = std::env::args().skip(1).filter(|s| s != "--bench");
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--db" => {
                a.dbs = match it.next().as_deref() {
                    Some("postgres") => vec![Db::Postgres],
                    Some("all") => vec![Db::Sqlite, Db::Postgres],
                    _ => vec![Db::Sqlite],
                }
            }
            "--conversions" => a.conversions = it.next().and_then(|s| s.parse().ok()).unwrap_or(1_000_000),
            "--runs" => a.runs = it.next().and_then(|s| s.parse().ok()).unwrap_or(5).max(1),
            "--reseed" => a.reseed = true,
            "--only" => a.only = it.next(),
            _ => {}
        }
    }
    a
}

fn pg_admin_url() -> String {
    std::env::var("TEST_PG_ADMIN_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The URL of a seeded database, seeding it first when it is missing.
async fn database(db: Db, a: &Args) -> String {
    let url = match db {
        Db::Sqlite => {
            let dir = std::env::var("TRIBUTARY_BENCH_DIR").unwrap_or_else(|_| {
                let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
                format!("{target}/bench-data")
            });
            std::fs::create_dir_all(&dir).unwrap();
            let path = std::path::Path::new(&dir).join(format!("demo-{}.db", a.conversions));
            if a.reseed {
                for ext in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
                }
            }
            format!(
                "sqlite://{}",
                std::fs::canonicalize(&dir)
                    .unwrap()
                    .join(path.file_name().unwrap())
                    .display()
            )
        }
        Db::Postgres => {
            let admin = sqlx::PgPool::connect(&pg_admin_url())
                .await
                .expect("PostgreSQL for the benchmark");
            let name = format!("tributary_bench_demo_{}", a.conversions);
            if a.reseed {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&admin)
                    .await;
            }
            let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
                .bind(&name)
                .fetch_optional(&admin)
                .await
                .unwrap();
            if exists.is_none() {
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .unwrap();
            }
            let mut u = url::Url::parse(&pg_admin_url()).unwrap();
            u.set_path(&name);
            u.to_string()
        }
    };
    let config = Config::for_database(&url);
    let conn = server::startup::prepare_database(&config).await.expect("the database");
    let seeded = {
        use sea_orm::ConnectionTrait;
        let row = conn
            .read
            .query_one(sea_orm::Statement::from_string(
                conn.read.get_database_backend(),
                "SELECT COUNT(*) FROM conversions",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    };
    if seeded == 0 {
        eprintln!(
            "seeding {} conversions into {url} (once; kept for the next run)...",
            a.conversions
        );
        let started = Instant::now();
        // One user per ten conversions: a fifth of the conversions are repeat customers'
        // and their touches pile up on their identity, so fewer users would give each
        // conversion far more than the "about 3 touchpoints" the benchmark calls for.
        let users = (a.conversions / 10).clamp(100, 100_000);
        server::seed::seed_demo(
            &conn,
            &SeedOptions {
                users,
                days: 365,
                seed: 1,
                conversions: a.conversions,
                until: None,
                quiet: false,
            },
        )
        .await
        .expect("seed-demo");
        eprintln!("seeded in {:.0} s", started.elapsed().as_secs_f64());
    }
    // A database seeded before the credit by day existed has every day out of date.
    let started = Instant::now();
    server::seed::settle_credit_days(&conn.write)
        .await
        .expect("the credit by day");
    let took = started.elapsed().as_secs_f64();
    if took > 1.0 {
        eprintln!("computed the credit by day in {took:.0} s");
    }
    conn.close().await;
    url
}

fn fmt_ms(d: Duration) -> String {
    format!("{:>8.1} ms", d.as_secs_f64() * 1000.0)
}

async fn time(client: &reqwest::Client, url: &str, runs: usize, bearer: Option<&str>) -> (Vec<Duration>, u16, usize) {
    let get = || {
        let r = client.get(url);
        match bearer {
            Some(k) => r.bearer_auth(k),
            None => r,
        }
    };
    let warm = get().send().await.expect("GET");
    let status = warm.status().as_u16();
    let size = warm.bytes().await.map(|b| b.len()).unwrap_or(0);
    let mut out = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let res = get().send().await.expect("GET");
        let _ = res.bytes().await;
        out.push(t.elapsed());
    }
    out.sort();
    (out, status, size)
}

fn main() {
    let a = args();
    // `RUST_LOG=sqlx::query=debug` shows each query of the pages and its time.
    if std::env::var_os("RUST_LOG").is_some() {
        server::telemetry::init();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for db in a.dbs.clone() {
        rt.block_on(async {
            let url = database(db, &a).await;
            let mut config = Config::for_database(&url);
            config.server.site_addr = "127.0.0.1:0".parse().unwrap();
            let app = Application::build(config).await.expect("the application starts");
            let base = format!("http://127.0.0.1:{}", app.port());
            let state = app.state().clone();
            tokio::spawn(app.run());
            let client = reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(600))
                .user_agent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36")
                .build()
                .unwrap();
            let login = client
                .post(format!("{base}/api/login"))
                .header("accept", "application/json")
                .form(&[("email", "demo0.s1@demo.example"), ("password", DEMO_PASSWORD)])
                .send()
                .await
                .unwrap();
            assert_eq!(login.status(), 200, "the demo admin logs in");
            let key = app::server::api_keys::create(&state.db.write, "bench", None)
                .await
                .expect("an API key")
                .secret;
            let counts = {
                use sea_orm::ConnectionTrait;
                let mut v = Vec::new();
                for t in ["conversions", "touchpoints", "identities", "users", "responses"] {
                    let row = state
                        .db
                        .read
                        .query_one(sea_orm::Statement::from_string(
                            state.db.read.get_database_backend(),
                            format!("SELECT COUNT(*) FROM {t}"),
                        ))
                        .await
                        .unwrap()
                        .unwrap();
                    v.push(format!("{t} {}", row.try_get_by_index::<i64>(0).unwrap()));
                }
                v.join(", ")
            };
            let candidates = {
                // Candidates per conversion under the default 30-day window, on every
                // hundredth conversion.
                use sea_orm::ConnectionTrait;
                let row = state
                    .db
                    .read
                    .query_one(sea_orm::Statement::from_string(
                        state.db.read.get_database_backend(),
                        "SELECT CAST(COUNT(t.id) AS DOUBLE PRECISION) / COUNT(DISTINCT c.id) FROM conversions c \
                         LEFT JOIN touchpoints t ON t.identity_id = c.identity_id AND t.created_at < c.occurred_at \
                         AND t.created_at >= c.occurred_at - 2592000000 WHERE c.id % 100 = 0",
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                row.try_get_by_index::<f64>(0).unwrap()
            };
            println!("\n== {db:?}: {counts}; {candidates:.2} candidates per conversion (30-day window)");
            println!("   {} timed runs after one warm-up, one request at a time, over loopback; release build\n", a.runs);
            let models = ["last_touch", "first_touch", "linear", "position_based", "time_decay"];
            let mut cases: Vec<(String, String, bool)> = vec![
                ("overview, 30 days".into(), "/admin?range=30d".into(), false),
                ("overview, last month".into(), "/admin?range=last_month".into(), false),
                ("overview, today (hourly)".into(), "/admin?range=today".into(), false),
                ("campaigns, 30 days".into(), "/admin/campaigns?range=30d".into(), false),
                ("leaderboards, 30 days".into(), "/admin/leaderboard?range=30d".into(), false),
            ];
            for m in models {
                cases.push((
                    format!("explorer {m}, 30 days, by source"),
                    format!("/admin/attribution?range=30d&model={m}&group_by=source"),
                    false,
                ));
            }
            cases.extend([
                (
                    "explorer time_decay, 365 days, by campaign".to_string(),
                    {
                        // The whole seeded year (ranges over ten years are refused with 422).
                        let today = chrono::Utc::now().date_naive();
                        let from = today - chrono::Duration::days(364);
                        format!("/admin/attribution?range=custom&from={from}&to={today}&model=time_decay&group_by=campaign")
                    },
                    false,
                ),
                (
                    "explorer linear, 90-day window + per-source, by channel".into(),
                    "/admin/attribution?range=30d&model=linear&group_by=channel&window_days=90&source_windows=google%3A7%2Cnewsletter%3A3".into(),
                    false,
                ),
                (
                    "explorer compare (all five), 30 days".into(),
                    "/admin/attribution?view=compare&range=30d&group_by=source".into(),
                    false,
                ),
                (
                    "API report last_touch, all time".into(),
                    "/api/v1/attribution/report?model=last_touch&group_by=source".into(),
                    true,
                ),
                (
                    "API report first_touch, all time".into(),
                    "/api/v1/attribution/report?model=first_touch&group_by=source".into(),
                    true,
                ),
                (
                    "API report linear, all time".into(),
                    "/api/v1/attribution/report?model=linear&group_by=source".into(),
                    true,
                ),
                (
                    "API report time_decay, all time".into(),
                    "/api/v1/attribution/report?model=time_decay&group_by=source".into(),
                    true,
                ),
                (
                    "API conversions, 500 with credits".into(),
                    "/api/v1/conversions?limit=500&model=linear".into(),
                    true,
                ),
            ]);
            println!("{:<58} {:>11} {:>11} {:>11}  status  bytes", "", "min", "median", "max");
            for (name, path, api) in cases {
                if a.only.as_deref().is_some_and(|o| !name.contains(o)) {
                    continue;
                }
                let (d, status, size) = time(&client, &format!("{base}{path}"), a.runs, api.then_some(key.as_str())).await;
                println!(
                    "{name:<58} {} {} {}  {status}     {size}",
                    fmt_ms(d[0]),
                    fmt_ms(d[d.len() / 2]),
                    fmt_ms(d[d.len() - 1])
                );
            }
            state.db.close().await;
        });
    }
}

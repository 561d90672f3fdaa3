//! HTTP benchmarks of the real application on loopback: a load generator keeps 32
//! connections busy and reports requests per second and latency percentiles.
//!
//! ```sh
//! cargo bench -p server --bench http -- home               # anonymous home page
//! cargo bench -p server --bench http -- landings --db all  # UTM vs plain landings
//! cargo bench -p server --bench http -- clicks --db all    # /r/<code> vs a bare axum 302
//! cargo bench -p server --bench http -- logins             # 200 log-ins at once: memory, page latency
//! ```
//! Options: `--db sqlite|postgres|all` (default sqlite), `--seconds N` (default 10),
//! `--connections N` (default 32), `--rounds N` (default 4: `landings` alternates plain
//! and UTM landings N times, `seconds / N` each, and sums them). `BENCH_CONTROL=1` adds,
//! to `landings`, a landing with an untracked query string (the page's own cost of a
//! query, without capture); `BENCH_ONLY=plain` or `BENCH_ONLY=utm` runs one of the two
//! only, to profile it. `--workers N` (default 2) sets the server's threads
//! (`SERVER_THREADS`).
//! PostgreSQL is `TEST_PG_ADMIN_URL`
//! (default postgres://postgres@127.0.0.1:5432/postgres); a fresh database is made
//! and dropped.

use app::server::config::Config;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use server::Application;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Db {
    Sqlite,
    Postgres,
}

struct Args {
    scenario: String,
    dbs: Vec<Db>,
    seconds: u64,
    connections: usize,
    rounds: u32,
    /// The server's threads (`SERVER_THREADS`), each with a runtime of its own.
    workers: usize,
}

fn args() -> Args {
    let mut a = Args {
        scenario: "home".into(),
        dbs: vec![Db::Sqlite],
        seconds: 10,
        connections: 32,
        rounds: 4,
        workers: 2,
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
            "--seconds" => a.seconds = it.next().and_then(|s| s.parse().ok()).unwrap_or(10),
            "--connections" => a.connections = it.next().and_then(|s| s.parse().ok()).unwrap_or(32),
            "--workers" => a.workers = it.next().and_then(|s| s.parse().ok()).unwrap_or(2).max(1),
            "--rounds" => a.rounds = it.next().and_then(|s| s.parse().ok()).unwrap_or(4).max(1),
            s if !s.starts_with('-') => a.scenario = s.to_string(),
            _ => {}
        }
    }
    a
}

/// What one run measured.
struct Measured {
    requests: u64,
    errors: u64,
    statuses: std::collections::BTreeMap<u16, u64>,
    seconds: f64,
    latencies_us: Vec<u32>,
}

impl Measured {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    fn pct(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }

    /// Adds another measurement of the same requests.
    fn add(&mut self, other: Measured) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.seconds += other.seconds;
        for (s, n) in other.statuses {
            *self.statuses.entry(s).or_insert(0) += n;
        }
        self.latencies_us.extend(other.latencies_us);
        self.latencies_us.sort_unstable();
    }

    fn line(&self, name: &str) -> String {
        format!(
            "{name:<34} {:>9.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} requests, {} errors, statuses {:?})",
            self.rps(),
            self.pct(0.50),
            self.pct(0.99),
            self.requests,
            self.errors,
            self.statuses
        )
    }
}

/// How long a measurement lasts.
struct Seconds(Duration);

impl From<u64> for Seconds {
    fn from(s: u64) -> Self {
        Seconds(Duration::from_secs(s))
    }
}

impl From<Duration> for Seconds {
    fn from(d: Duration) -> Self {
        Seconds(d)
    }
}

/// Keeps `connections` HTTP/1.1 connections busy for `seconds`, each request made by
/// `path(n)`; no cookies are ever sent, so every request is a new visitor.
fn load(
    addr: std::net::SocketAddr,
    connections: usize,
    seconds: impl Into<Seconds>,
    path: Arc<dyn Fn(u64) -> String + Send + Sync>,
) -> Measured {
    let duration = seconds.into().0;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let stop = Arc::new(AtomicBool::new(false));
        let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let stop = stop.clone();
            let counter = counter.clone();
            let path = path.clone();
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::with_capacity(100_000);
                let mut statuses = std::collections::BTreeMap::new();
                let mut errors = 0u64;
                'outer: while !stop.load(Ordering::Relaxed) {
                    let Ok(stream) = tokio::net::TcpStream::connect(addr).await else {
                        errors += 1;
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let Ok((mut sender, conn)) = http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream)).await else {
                        errors += 1;
                        continue;
                    };
                    tokio::spawn(conn);
                    while !stop.load(Ordering::Relaxed) {
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        let req = hyper::Request::get(path(n))
                            .header("host", addr.to_string())
                            .header(
                                "user-agent",
                                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
                            )
                            .body(Empty::new())
                            .unwrap();
                        let t = Instant::now();
                        match sender.send_request(req).await {
                            Ok(res) => {
                                let status = res.status().as_u16();
                                if res.into_body().collect().await.is_err() {
                                    errors += 1;
                                    continue 'outer;
                                }
                                lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                                *statuses.entry(status).or_insert(0u64) += 1;
                            }
                            Err(_) => {
                                errors += 1;
                                continue 'outer;
                            }
                        }
                    }
                }
                (lat, statuses, errors)
            }));
        }
        let started = Instant::now();
        tokio::time::sleep(duration).await;
        stop.store(true, Ordering::Relaxed);
        let mut m = Measured {
            requests: 0,
            errors: 0,
            statuses: Default::default(),
            seconds: 0.0,
            latencies_us: Vec::new(),
        };
        for t in tasks {
            let (lat, statuses, errors) = t.await.unwrap();
            m.requests += lat.len() as u64;
            m.errors += errors;
            m.latencies_us.extend(lat);
            for (s, n) in statuses {
                *m.statuses.entry(s).or_insert(0) += n;
            }
        }
        m.seconds = started.elapsed().as_secs_f64();
        m.latencies_us.sort_unstable();
        m
    })
}

struct Running {
    addr: std::net::SocketAddr,
    state: app::server::state::AppState,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

fn pg_admin_url() -> String {
    std::env::var("TEST_PG_ADMIN_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Starts the application on a fresh database, on the server runtime.
fn start(rt: &tokio::runtime::Runtime, db: Db, threads: usize) -> Running {
    start_with(rt, db, threads, |_| {})
}

fn start_with(rt: &tokio::runtime::Runtime, db: Db, threads: usize, tweak: impl FnOnce(&mut Config)) -> Running {
    rt.block_on(async {
        let (url, dir, pg_name) = match db {
            Db::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                (format!("sqlite://{}/bench.db", dir.path().display()), Some(dir), None)
            }
            Db::Postgres => {
                let admin = sqlx::PgPool::connect(&pg_admin_url())
                    .await
                    .expect("PostgreSQL for the benchmark");
                let name = format!("tributary_bench_{}", std::process::id());
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&admin)
                    .await;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .unwrap();
                let mut u = url::Url::parse(&pg_admin_url()).unwrap();
                u.set_path(&name);
                (u.to_string(), None, Some(name))
            }
        };
        let mut config = Config::for_database(&url);
        config.server.site_addr = "127.0.0.1:0".parse().unwrap();
        config.database.max_connections = 16;
        config.server.threads = threads;
        tweak(&mut config);
        let app = Application::build(config).await.expect("the application starts");
        let addr: std::net::SocketAddr = format!("127.0.0.1:{}", app.port()).parse().unwrap();
        let state = app.state().clone();
        tokio::spawn(app.run());
        Running {
            addr,
            state,
            pg_name,
            _dir: dir,
        }
    })
}

fn stop(rt: &tokio::runtime::Runtime, r: Running) {
    rt.block_on(async {
        r.state.db.close().await;
        if let Some(name) = r.pg_name {
            let admin = sqlx::PgPool::connect(&pg_admin_url()).await.unwrap();
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&admin)
                .await;
        }
    });
}

fn count(rt: &tokio::runtime::Runtime, r: &Running, sql: &str) -> i64 {
    use sea_orm::ConnectionTrait;
    rt.block_on(async {
        let row = r
            .state
            .db
            .read
            .query_one(sea_orm::Statement::from_string(
                r.state.db.read.get_database_backend(),
                sql,
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    })
}

/// The writer's batches between two readings of `Writer::committed`.
fn batches(before: (u64, u64), after: (u64, u64)) -> String {
    let (b, j) = (after.0 - before.0, after.1 - before.1);
    format!(
        "writer: {b} batches committed, {j} writes, {:.1} writes per batch",
        j as f64 / b.max(1) as f64
    )
}

fn conditions(db: Db, a: &Args) -> String {
    let durability = match db {
        Db::Sqlite => "SQLite, WAL, synchronous=NORMAL",
        Db::Postgres => "PostgreSQL, synchronous_commit=on (default)",
    };
    format!(
        "{durability}; {} connections on loopback; {} s per measurement; release build; {} server threads, load generator in-process on one thread",
        a.connections, a.seconds, a.workers
    )
}

fn server_runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}

/// The process's resident memory now and at its peak since the last reset, in MiB.
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// 200 log-ins at once (right passwords, so that each one runs argon2), while plain
/// pages are requested on other connections: the pages' latency before and during the
/// burst, and the process's memory (peak resident size, reset before the burst).
fn logins(rt: &tokio::runtime::Runtime, db: Db, a: &Args) {
    const BURST: usize = 200;
    let r = start_with(rt, db, a.workers, |c| {
        c.accounts.login_max_failures_per_account = 1_000_000;
        c.accounts.login_max_failures_per_ip = 1_000_000;
        c.accounts.login_max_failures_per_account_total = 1_000_000;
    });
    let page_connections = (a.connections / 4).max(2);
    println!(
        "\n# {BURST} concurrent log-ins and plain pages\n# {}; here: pages on {page_connections} connections, 3 s alone, then 3 s from the burst's start",
        conditions(db, a)
    );
    rt.block_on(async {
        let config = r.state.config.clone();
        app::server::accounts::signup::create_admin(&r.state.db, &config, "bench@example.com", "bench passphrase 2026")
            .await
            .expect("a user to log in as");
    });
    let _ = load(r.addr, page_connections, 1, Arc::new(|_| "/".to_string()));
    let quiet = load(r.addr, page_connections, 3, Arc::new(|_| "/".to_string()));
    println!("{}", quiet.line("GET / alone"));
    let (rss_before, _) = memory_mib();
    // Resets the peak resident size (Linux), so that VmHWM is the burst's.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let addr = r.addr;
    let burst = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let started = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..BURST {
                tasks.push(tokio::spawn(async move {
                    let client = reqwest::Client::new();
                    let t = Instant::now();
                    let status = client
                        .post(format!("http://{addr}/api/login"))
                        .header("accept", "application/json")
                        .form(&[("email", "bench@example.com"), ("password", "bench passphrase 2026")])
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0);
                    (status, t.elapsed())
                }));
            }
            let mut statuses = std::collections::BTreeMap::new();
            let mut slowest = Duration::ZERO;
            for t in tasks {
                let (status, took) = t.await.unwrap();
                *statuses.entry(status).or_insert(0u32) += 1;
                slowest = slowest.max(took);
            }
            (started.elapsed(), slowest, statuses)
        })
    });
    let during = load(r.addr, page_connections, 3, Arc::new(|_| "/".to_string()));
    let (all, slowest, statuses) = burst.join().unwrap();
    let (rss_after, peak) = memory_mib();
    println!("{}", during.line("GET / during the burst"));
    println!(
        "log-ins: {BURST} in {:.2} s (slowest {:.2} s), statuses {statuses:?}",
        all.as_secs_f64(),
        slowest.as_secs_f64()
    );
    println!("memory: {rss_before:.0} MiB before, peak {peak:.0} MiB during, {rss_after:.0} MiB after");
    println!(
        "page latency during / alone: p50 {:.1}x, p99 {:.1}x",
        during.pct(0.5) / quiet.pct(0.5).max(0.001),
        during.pct(0.99) / quiet.pct(0.99).max(0.001)
    );
    stop(rt, r);
}

fn main() {
    let a = args();
    let rt = server_runtime(a.workers);
    match a.scenario.as_str() {
        "home" => {
            let r = start(&rt, a.dbs[0], a.workers);
            println!("# anonymous home page\n# {}", conditions(a.dbs[0], &a));
            let _ = load(r.addr, a.connections, 1, Arc::new(|_| "/".to_string()));
            let m = load(r.addr, a.connections, a.seconds, Arc::new(|_| "/".to_string()));
            println!("{}", m.line("GET / (anonymous)"));
            let sessions = count(
                &rt,
                &r,
                match a.dbs[0] {
                    Db::Sqlite => "SELECT COUNT(*) FROM tower_sessions",
                    Db::Postgres => "SELECT COUNT(*) FROM tower_sessions.session",
                },
            );
            println!("session rows written: {sessions}");
            stop(&rt, r);
        }
        "landings" => {
            for &db in &a.dbs {
                let r = start(&rt, db, a.workers);
                println!("\n# landings, new visitors\n# {}", conditions(db, &a));
                let _ = load(r.addr, a.connections, 1, Arc::new(|_| "/".to_string()));
                // Plain and UTM landings take turns, `rounds` times, so that a slow
                // spell of the machine weighs on both alike.
                let phase = Duration::from_secs(a.seconds) / a.rounds;
                let utm_path: Arc<dyn Fn(u64) -> String + Send + Sync> =
                    Arc::new(|n| format!("/?utm_source=bench&utm_medium=cpc&utm_campaign=c{}", n % 97));
                let control = std::env::var("BENCH_CONTROL").is_ok();
                let (mut plain, mut utm, mut query) = (None::<Measured>, None::<Measured>, None::<Measured>);
                let mut batches_before = (0, 0);
                let mut batches_after = (0, 0);
                // `BENCH_ONLY=plain` or `BENCH_ONLY=utm` runs one kind of landing only,
                // to profile it.
                let only = std::env::var("BENCH_ONLY").unwrap_or_default();
                for _ in 0..a.rounds {
                    let p = (only != "utm").then(|| load(r.addr, a.connections, phase, Arc::new(|_| "/".to_string())));
                    let before = r.state.writer.committed();
                    let u = (only != "plain").then(|| load(r.addr, a.connections, phase, utm_path.clone()));
                    let after = r.state.writer.committed();
                    batches_before = (batches_before.0 + before.0, batches_before.1 + before.1);
                    batches_after = (batches_after.0 + after.0, batches_after.1 + after.1);
                    let q = control.then(|| {
                        load(
                            r.addr,
                            a.connections,
                            phase,
                            Arc::new(|n| format!("/?page=bench&sort=cpc&q=c{}", n % 97)),
                        )
                    });
                    for (sum, m) in [(&mut plain, p), (&mut utm, u), (&mut query, q)] {
                        match (sum.as_mut(), m) {
                            (Some(s), Some(m)) => s.add(m),
                            (None, m) => *sum = m,
                            (_, None) => {}
                        }
                    }
                }
                for (m, name) in [(&plain, "plain landing GET /"), (&utm, "UTM landing GET /?utm_...")] {
                    if let Some(m) = m {
                        println!("{}", m.line(name));
                    }
                }
                if let (Some(plain), Some(utm)) = (&plain, &utm) {
                    println!("{}", batches(batches_before, batches_after));
                    if let Some(q) = query {
                        println!("{}", q.line("untracked query GET /?page=..."));
                    }
                    println!("UTM / plain throughput: {:.0}%", 100.0 * utm.rps() / plain.rps());
                }
                if let Some(utm) = &utm {
                    let touches = count(&rt, &r, "SELECT COUNT(*) FROM touchpoints");
                    let ok = utm.statuses.get(&200).copied().unwrap_or(0);
                    println!(
                        "touchpoints: {touches}; UTM landings answered 200: {ok}; equal: {}",
                        touches as u64 == ok
                    );
                }
                stop(&rt, r);
            }
        }
        "clicks" => {
            for &db in &a.dbs {
                let r = start(&rt, db, a.workers);
                println!("\n# /r/<code> clicks, new visitors\n# {}", conditions(db, &a));
                // A link to click: an ownerless code made the way an admin or a ?ref= would.
                let code = rt.block_on(async {
                    let v = app::server::referrals::links::ValidLink {
                        owner_id: None,
                        label: "bench".into(),
                        destination: "/".into(),
                        code: Some("bench-link".into()),
                        target: None,
                        expires_at: None,
                        is_personal: false,
                        auto_created: false,
                    };
                    app::server::referrals::links::create(&r.state.db.write, &r.state.config, &v)
                        .await
                        .unwrap()
                        .0
                        .code
                });
                // The bare axum 302 handler, on the same runtime, in the same run.
                let bare = rt.block_on(async {
                    let router = axum::Router::new().route(
                        "/r/{code}",
                        axum::routing::get(|| async { axum::response::Redirect::to("/") }),
                    );
                    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                    let addr = l.local_addr().unwrap();
                    tokio::spawn(async move { axum::serve(l, router).await });
                    addr
                });
                let _ = load(bare, a.connections, 1, Arc::new(|_| "/r/x".to_string()));
                let b = load(bare, a.connections, a.seconds, Arc::new(|_| "/r/x".to_string()));
                println!("{}", b.line("bare axum 302"));
                let path = format!("/r/{code}");
                let p2 = path.clone();
                let _ = load(r.addr, a.connections, 1, Arc::new(move |_| p2.clone()));
                let before = count(&rt, &r, "SELECT COUNT(*) FROM responses WHERE action = 'RESPONDED'");
                let committed = r.state.writer.committed();
                let c = load(r.addr, a.connections, a.seconds, Arc::new(move |_| path.clone()));
                println!("{}", c.line("GET /r/<code> (click + 302)"));
                println!("{}", batches(committed, r.state.writer.committed()));
                println!("clicks / bare 302: {:.0}%", 100.0 * c.rps() / b.rps());
                let after = count(&rt, &r, "SELECT COUNT(*) FROM responses WHERE action = 'RESPONDED'");
                let redirects = c.statuses.get(&302).copied().unwrap_or(0);
                println!(
                    "RESPONDED rows added: {}; 302s sent: {redirects}; equal: {}",
                    after - before,
                    (after - before) as u64 == redirects
                );
                stop(&rt, r);
            }
        }
        "logins" => {
            for &db in &a.dbs {
                logins(&rt, db, &a);
            }
        }
        other => eprintln!("unknown scenario {other}: use home, landings, clicks or logins"),
    }
}

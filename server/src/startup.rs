//! Building the application: database, migrations, the settings guard
//! (`app::server::meta`), sessions, router and layer order.

use crate::errors::panic_response;
use crate::middleware;
use crate::session_store::Store;
use app::app::{App, shell};
use app::server::config::Config;
use app::server::db::{ConnectError, Database};
use app::server::meta::MetaError;
use app::server::state::AppState;
use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use migration::{Migrator, MigratorTrait};
use sea_orm::DbErr;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_sessions::session_store::ExpiredDeletion;
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("DATABASE_URL: {0}")]
    Connect(#[from] ConnectError),
    #[error("migrating the database failed: {0}")]
    Migrate(DbErr),
    #[error("{0}")]
    Settings(String),
    #[error("the session store could not be prepared: {0}")]
    Sessions(sqlx::Error),
    #[error("LEPTOS_SITE_ADDR: cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("METRICS_ADDR: cannot listen on {addr}: {source}")]
    BindMetrics { addr: SocketAddr, source: std::io::Error },
}

pub const SESSION_COOKIE: &str = "tributary_session";

pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    state: AppState,
    store: Store,
}

/// Connects and brings the schema up to date.
pub async fn prepare_database(config: &Config) -> Result<Database, StartupError> {
    let db = Database::connect(&config.database.url, config.database.max_connections).await?;
    Migrator::up(&db.write, None).await.map_err(StartupError::Migrate)?;
    app::server::meta::guard_settings(&db.write, config)
        .await
        .map_err(|e| match e {
            MetaError::Changed(m) => StartupError::Settings(m),
            MetaError::Db(e) => StartupError::Migrate(e),
        })?;
    Ok(db)
}

pub fn leptos_options(config: &Config) -> LeptosOptions {
    let env = |k: &str, d: &str| {
        std::env::var(k)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| d.to_string())
    };
    LeptosOptions::builder()
        .output_name(env("LEPTOS_OUTPUT_NAME", "tributary"))
        .site_root(env("LEPTOS_SITE_ROOT", "target/site"))
        .site_pkg_dir(env("LEPTOS_SITE_PKG_DIR", "pkg"))
        .site_addr(config.server.site_addr)
        .build()
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let db = prepare_database(&config).await?;
        app::server::accounts::password::warm_up();
        let listener = TcpListener::bind(config.server.site_addr)
            .await
            .map_err(|source| StartupError::Bind {
                addr: config.server.site_addr,
                source,
            })?;
        let metrics_listener = match config.server.metrics_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartupError::BindMetrics { addr, source })?,
            ),
            None => None,
        };
        let mut options = leptos_options(&config);
        options.site_addr = listener.local_addr().unwrap_or(config.server.site_addr);
        let flash_key = app::server::accounts::flash_cookie::FlashKey::load_or_create(&db.write)
            .await
            .map_err(StartupError::Migrate)?;
        let state = AppState::new(db, config, options, flash_key);
        let store = Store::new(&state.db).await.map_err(StartupError::Sessions)?;
        spawn_session_cleanup(store.clone());
        spawn_credit_days_settler(&state);
        spawn_destination_audit(&state);
        // Generated here, before anything is served (see `route_list`).
        route_list();
        Ok(Application {
            listener,
            metrics_listener,
            state,
            store,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The port of the `METRICS_ADDR` listener, if there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until Ctrl-C or SIGTERM, then finishes the requests under way.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        });
        self.serve(Some(stopped)).await
    }

    /// Serves until the process ends (tests).
    pub async fn run(self) -> std::io::Result<()> {
        self.serve(None).await
    }

    /// Serves on `SERVER_THREADS` threads. Each runs a single-threaded runtime of its
    /// own, with its own writer (`Writer::sibling`), and is handed its share of the
    /// connections (`crate::threads`): a request runs from start to end on one thread,
    /// and a landing that waited for its commit is not woken on another core (faster
    /// than one work-stealing runtime on every path but SQLite's UTM landings: the
    /// README's "Performance" has the figures). No request holds its thread for long: password hashing runs on
    /// the blocking pool, reports aggregate in the database, exports stream.
    async fn serve(self, stopped: Option<watch::Receiver<bool>>) -> std::io::Result<()> {
        if let Some(listener) = self.metrics_listener {
            crate::metrics::serve_listener(listener, self.state.clone());
        }
        crate::metrics::spawn_upkeep(&self.state);
        let threads = self.state.config.server.threads.max(1);
        let writer_connections = (app::server::writer::WRITER_CONNECTIONS / threads as u32).max(1);
        let mut ended = Vec::with_capacity(threads);
        for (i, listener) in crate::threads::dispatch(self.listener, threads)?
            .into_iter()
            .enumerate()
        {
            let (state, store, stopped) = (self.state.clone(), self.store.clone(), stopped.clone());
            // Each thread says when it ends; that is awaited here, never joined, so that
            // dropping this future (a test's runtime ending) blocks nothing.
            let (end, ends) = tokio::sync::oneshot::channel::<std::io::Result<()>>();
            ended.push(ends);
            std::thread::Builder::new()
                .name(format!("tributary-{i}"))
                .spawn(move || {
                    let served = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .and_then(|rt| rt.block_on(serve_thread(listener, state, store, writer_connections, stopped)));
                    let _ = end.send(served);
                })?;
        }
        for ends in ended {
            ends.await
                .unwrap_or_else(|_| Err(std::io::Error::other("a server thread stopped unexpectedly")))?;
        }
        Ok(())
    }
}

/// One server thread: its writer, its router, its connections. Each connection is
/// served by hyper directly (`axum::serve` has no way to set hyper's options): a client
/// that has not sent a whole request head within `HEADER_READ_TIMEOUT_SECONDS` is cut
/// off (slowloris), on a new connection as between the requests of a kept-alive one.
async fn serve_thread(
    mut listener: crate::threads::Handed,
    state: AppState,
    store: Store,
    writer_connections: u32,
    stopped: Option<watch::Receiver<bool>>,
) -> std::io::Result<()> {
    use axum::serve::Listener;
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use tower::ServiceExt;

    let state = state.with_writer(state.writer.sibling(state.db.clone(), writer_connections));
    let header_timeout = state.config.server.header_read_timeout;
    let app = router(state, store);
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let stop = async move {
        match stopped {
            Some(mut stopped) => {
                let _ = stopped.wait_for(|stop| *stop).await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stop);
    loop {
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        // The peer address, as `into_make_service_with_connect_info` would give it.
        let service = app
            .clone()
            .map_request(move |mut req: http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                req
            });
        let conn = builder
            .serve_connection(TokioIo::new(io), hyper_util::service::TowerToHyperService::new(service))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "a connection ended with an error");
            }
        });
    }
    // Requests under way finish; idle kept-alive connections are closed.
    graceful.shutdown().await;
    Ok(())
}

/// Recomputes out-of-date days of the credit by day, a few at a time, so that reports
/// find little to search live. Exactness never depends on it: reports search what is
/// out of date.
fn spawn_credit_days_settler(state: &AppState) {
    let db = state.db.write.clone();
    let settings = app::server::attribution::Settings::defaults(&state.config);
    tokio::spawn(async move {
        // A minute after startup: a process that lives only seconds (a test, a one-off
        // command) never settles days it did not mean to, and startup stays quick.
        let start = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut tick = tokio::time::interval_at(start, Duration::from_secs(20));
        loop {
            tick.tick().await;
            match app::server::attribution::credit_days::settle(&db, &settings, 16).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(days = n, "credit by day recomputed"),
                Err(e) => tracing::warn!(error = %e, "could not recompute the credit by day"),
            }
        }
    });
}

/// Logs the stored links whose destination the current rules refuse (written before a
/// rule existed, by hand, or allowed by a host since removed from
/// `REFERRAL_ALLOWED_HOSTS`). They are left alone: `/r/<code>` refuses them anyway.
fn spawn_destination_audit(state: &AppState) {
    let (db, config) = (state.db.read.clone(), state.config.clone());
    tokio::spawn(async move {
        match app::server::referrals::destination::refused_links(&db, &config).await {
            Ok(refused) if refused.is_empty() => {}
            Ok(refused) => {
                for l in refused.iter().take(100) {
                    tracing::warn!(link = l.id, code = %l.code, destination = %l.destination.escape_debug(), reason = %l.reason,
                        "a stored link's destination is not allowed; its clicks get the not-found page");
                }
                tracing::warn!(
                    links = refused.len(),
                    "stored links with a destination that is not allowed"
                );
            }
            Err(e) => tracing::warn!(error = %e, "could not check the stored links' destinations"),
        }
    });
}

fn spawn_session_cleanup(store: Store) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if let Err(e) = store.delete_expired().await {
                tracing::warn!(error = %e, "could not delete expired sessions");
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

pub fn session_layer(state: &AppState, store: Store) -> SessionManagerLayer<Store> {
    SessionManagerLayer::new(store)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.server.cookies_secure())
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(tower_sessions::cookie::time::Duration::days(
            state.config.accounts.session_days,
        )))
}

/// The app's routes, generated once per process. Generating them sets a
/// process-global flag in leptos_server that makes any resource first polled
/// meanwhile wait forever (leptos issue #4773), so it must never overlap with
/// rendering: the first `Application::build` does it, before anything is served.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The router and its layers. Static assets and the health checks sit outside the
/// session and auth layers, so they cost no database work.
///
/// Pages, server functions and the REST API must answer within `REQUEST_TIMEOUT_SECONDS`
/// (503 past it); streaming exports are exempt (they have an idle timeout of their own).
/// Every response gets `X-Content-Type-Options`, `Referrer-Policy`, `X-Frame-Options`
/// and a default Content-Security-Policy; rendered pages replace the latter with one
/// that carries their script nonce (`app::server::headers`).
pub fn router(state: AppState, store: Store) -> Router {
    let options = state.leptos_options.clone();
    let routes = route_list();
    let fallback_state = state.clone();
    let timeout = TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, state.config.server.request_timeout);

    let pages = Router::new()
        .route("/r/{code}", get(crate::referral::click))
        .route("/r/{code}/", get(crate::referral::click))
        .leptos_routes(&state, routes, {
            let options = options.clone();
            move || shell(options.clone())
        })
        .route_layer(timeout)
        // Added after the timeout: an export streams for as long as it needs to.
        .route("/admin/export/{file}", get(crate::export::export));
    let pages = tag_routes(pages, &state)
        .fallback((move |req: Request| render_fallback(fallback_state.clone(), req)).layer(timeout))
        .layer(axum::middleware::from_fn(middleware::server_fn_status::fix_status))
        .layer(axum::middleware::from_fn(middleware::auth::guard))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::capture::capture,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::auth::current_user,
        ))
        .layer(session_layer(&state, store))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::csrf::check_origin,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::forms::check_body,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::client::client_addr,
        ))
        .with_state(state.clone());

    let site_root = options.site_root.to_string();
    let pkg_dir = format!("{site_root}/{}", options.site_pkg_dir);
    let assets = Router::new()
        .nest_service(
            &format!("/{}", options.site_pkg_dir),
            ServeDir::new(pkg_dir).precompressed_br().precompressed_gzip(),
        )
        .route_service(
            "/favicon.svg",
            tower_http::services::ServeFile::new(format!("{site_root}/favicon.svg")),
        )
        .route_service(
            "/favicon.ico",
            tower_http::services::ServeFile::new(format!("{site_root}/favicon.ico")),
        )
        .layer(SetResponseHeaderLayer::if_not_present(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("public, max-age=3600"),
        ));

    let default_policy = HeaderValue::from_str(&app::server::headers::content_security_policy(None))
        .unwrap_or_else(|_| HeaderValue::from_static("frame-ancestors 'none'"));
    let probes_and_api = Router::new()
        .route("/healthz", get(crate::health::healthz))
        .route("/healthz/live", get(crate::health::live))
        .merge(crate::metrics::routes(&state))
        .merge(crate::api_v1::router(state.clone()).layer(timeout));
    tag_routes(probes_and_api, &state)
        .with_state(state.clone())
        .merge(assets)
        .merge(pages)
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(middleware::observe::explain_timeouts))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            default_policy,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(axum::middleware::from_fn_with_state(
            state,
            middleware::observe::observe,
        ))
}

/// Labels the routes' responses with their route pattern, for the request metrics;
/// nothing when metrics are off (it costs a map per response).
fn tag_routes(routes: Router<AppState>, state: &AppState) -> Router<AppState> {
    if state.metrics.is_enabled() {
        routes.route_layer(axum::middleware::from_fn(middleware::observe::tag_route))
    } else {
        routes
    }
}

/// Unmatched paths render the app, whose router shows the 404 page (and sets 404).
async fn render_fallback(state: AppState, req: Request) -> Response {
    let options = state.leptos_options.clone();
    let handler = leptos_axum::render_app_async_with_context(
        move || provide_context(state.clone()),
        move || shell(options.clone()),
    );
    handler(req).await.into_response()
}

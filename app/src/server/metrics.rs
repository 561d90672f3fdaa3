//! Prometheus metrics, per application instance (each `AppState` has its own recorder,
//! so tests and a second instance in one process count apart).
//!
//! Off unless `METRICS_ADDR` or `METRICS_TOKEN` is set: every handle is then a no-op,
//! so the hot paths pay nothing. When on, the hot paths (`/r/<code>`, landings) only
//! bump atomics through handles registered once here; labelled request metrics are
//! looked up in the recorder's registry. The text is rendered by the recorder's handle
//! (no HTTP server of its own): `server::metrics` serves it.

use crate::server::db::{Database, Pools};
use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use std::time::Duration;

static METADATA: Metadata<'static> = Metadata::new("tributary", Level::INFO, Some("tributary"));

/// Seconds: from 1 ms to 30 s.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
const BATCH_BUCKETS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

pub struct Metrics {
    recorder: Option<(PrometheusRecorder, PrometheusHandle)>,
    /// Clicks (`RESPONDED`, and other responses the writer commits) committed.
    pub clicks_recorded: Counter,
    /// Clicks whose write failed for good (the visitor was still redirected).
    pub clicks_lost: Counter,
    pub landings_recorded: Counter,
    pub landings_lost: Counter,
    /// Jobs per committed writer batch.
    pub writer_batch_jobs: Histogram,
    /// Seconds a writer batch took to write and commit.
    pub writer_commit_seconds: Histogram,
    pub writer_batches_failed: Counter,
    /// Wrong passwords (and unknown emails) at log-in.
    pub login_failures: Counter,
    /// Log-ins refused by a rate limit, before any password check.
    pub login_rate_limited: Counter,
    /// argon2 verifications run (log-in, password change).
    pub password_verifications: Counter,
    pub signups_rate_limited: Counter,
    /// Clicks answered from a stale cache entry while the database did not answer.
    link_cache_stale: Counter,
    pool_size: Gauge,
    pool_idle: Gauge,
}

impl Metrics {
    /// Metrics that record nothing.
    pub fn disabled() -> Self {
        Metrics {
            recorder: None,
            clicks_recorded: Counter::noop(),
            clicks_lost: Counter::noop(),
            landings_recorded: Counter::noop(),
            landings_lost: Counter::noop(),
            writer_batch_jobs: Histogram::noop(),
            writer_commit_seconds: Histogram::noop(),
            writer_batches_failed: Counter::noop(),
            login_failures: Counter::noop(),
            login_rate_limited: Counter::noop(),
            password_verifications: Counter::noop(),
            signups_rate_limited: Counter::noop(),
            link_cache_stale: Counter::noop(),
            pool_size: Gauge::noop(),
            pool_idle: Gauge::noop(),
        }
    }

    pub fn enabled() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full("tributary_writer_batch_jobs".into()), &BATCH_BUCKETS))
            .map(|b| b.build_recorder())
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        let describe = |name: &'static str, unit: Option<Unit>, help: &'static str| {
            recorder.describe_counter(name.into(), unit, help.into());
        };
        describe(
            "tributary_http_requests_total",
            None,
            "HTTP requests by route, method and status.",
        );
        describe(
            "tributary_http_request_duration_seconds",
            Some(Unit::Seconds),
            "HTTP request latency by route and method.",
        );
        describe(
            "tributary_clicks_recorded_total",
            None,
            "Clicks committed to the database.",
        );
        describe(
            "tributary_clicks_lost_total",
            None,
            "Clicks whose write failed (the visitor was redirected all the same).",
        );
        describe(
            "tributary_landings_recorded_total",
            None,
            "Landing touchpoints committed.",
        );
        describe(
            "tributary_landings_lost_total",
            None,
            "Landing touchpoints whose write failed.",
        );
        describe(
            "tributary_writer_batch_jobs",
            None,
            "Jobs per committed group-commit batch.",
        );
        describe(
            "tributary_writer_commit_seconds",
            Some(Unit::Seconds),
            "Time to write and commit one batch.",
        );
        describe("tributary_writer_batches_failed_total", None, "Batches that failed.");
        describe(
            "tributary_login_failures_total",
            None,
            "Wrong passwords and unknown emails at log-in.",
        );
        describe(
            "tributary_login_rate_limited_total",
            None,
            "Log-ins refused by a rate limit (locks), before any password check.",
        );
        describe(
            "tributary_password_verifications_total",
            None,
            "argon2 verifications run.",
        );
        describe(
            "tributary_signups_rate_limited_total",
            None,
            "Sign-ups refused by the per-address limit.",
        );
        describe(
            "tributary_link_cache_stale_total",
            None,
            "Clicks answered from a stale cached link while the database did not answer.",
        );
        describe(
            "tributary_db_pool_connections",
            None,
            "Open connections of the read pool.",
        );
        describe("tributary_db_pool_idle", None, "Idle connections of the read pool.");
        let counter = |name: &'static str| recorder.register_counter(&Key::from_static_name(name), &METADATA);
        let histogram = |name: &'static str| recorder.register_histogram(&Key::from_static_name(name), &METADATA);
        let gauge = |name: &'static str| recorder.register_gauge(&Key::from_static_name(name), &METADATA);
        Metrics {
            clicks_recorded: counter("tributary_clicks_recorded_total"),
            clicks_lost: counter("tributary_clicks_lost_total"),
            landings_recorded: counter("tributary_landings_recorded_total"),
            landings_lost: counter("tributary_landings_lost_total"),
            writer_batch_jobs: histogram("tributary_writer_batch_jobs"),
            writer_commit_seconds: histogram("tributary_writer_commit_seconds"),
            writer_batches_failed: counter("tributary_writer_batches_failed_total"),
            login_failures: counter("tributary_login_failures_total"),
            login_rate_limited: counter("tributary_login_rate_limited_total"),
            password_verifications: counter("tributary_password_verifications_total"),
            signups_rate_limited: counter("tributary_signups_rate_limited_total"),
            link_cache_stale: counter("tributary_link_cache_stale_total"),
            pool_size: gauge("tributary_db_pool_connections"),
            pool_idle: gauge("tributary_db_pool_idle"),
            recorder: Some((recorder, handle)),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.recorder.is_some()
    }

    /// One HTTP request: `route` is the matched route pattern (never the raw path, so
    /// that the number of series stays bounded).
    pub fn request(&self, route: &str, method: &http::Method, status: u16, elapsed: Duration) {
        let Some((recorder, _)) = &self.recorder else { return };
        let method = method_label(method);
        let labels = vec![
            Label::new("route", route.to_string()),
            Label::new("method", method),
            Label::new("status", status.to_string()),
        ];
        recorder
            .register_counter(&Key::from_parts("tributary_http_requests_total", labels), &METADATA)
            .increment(1);
        let labels = vec![Label::new("route", route.to_string()), Label::new("method", method)];
        recorder
            .register_histogram(
                &Key::from_parts("tributary_http_request_duration_seconds", labels),
                &METADATA,
            )
            .record(elapsed.as_secs_f64());
    }

    /// The Prometheus text, with the pool gauges and the link cache's stale answers
    /// read now; `None` when metrics are off.
    pub fn render(&self, db: &Database, link_cache_stale: u64) -> Option<String> {
        let (_, handle) = self.recorder.as_ref()?;
        self.link_cache_stale.absolute(link_cache_stale);
        let (size, idle) = match &db.pools {
            Pools::Sqlite { read, .. } => (read.size(), read.num_idle()),
            Pools::Postgres(pool) => (pool.size(), pool.num_idle()),
        };
        self.pool_size.set(f64::from(size));
        self.pool_idle.set(idle as f64);
        Some(handle.render())
    }

    /// Drains the histograms' samples into their buckets; run every few seconds, or
    /// memory grows between scrapes.
    pub fn upkeep(&self) {
        if let Some((_, handle)) = &self.recorder {
            handle.run_upkeep();
        }
    }
}

/// Methods as labels: the standard ones by name, anything else as "other".
fn method_label(m: &http::Method) -> &'static str {
    match *m {
        http::Method::GET => "GET",
        http::Method::HEAD => "HEAD",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

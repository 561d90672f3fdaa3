use app::server::config::LogFormat;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Logs to stdout, filtered by `RUST_LOG` (default: info for Tributary, warnings for
/// libraries): human-readable lines (coloured only on a terminal), or one JSON object
/// per line with `LOG_FORMAT=json`.
pub fn init_with(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,tower_sessions=warn,leptos=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
        LogFormat::Text => builder.with_ansi(std::io::stdout().is_terminal()).try_init(),
    };
}

/// Text logs (tools and tests).
pub fn init() {
    init_with(LogFormat::Text);
}

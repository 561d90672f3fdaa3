//! The `tributary` server: startup (connect, migrate, sessions, router, layers) as a
//! library, so that tests start the real application on port 0.

pub mod api_v1;
pub mod cli;
pub mod errors;
pub mod export;
pub mod health;
pub mod metrics;
pub mod middleware;
pub mod referral;
pub mod seed;
pub mod session_store;
pub mod startup;
pub mod telemetry;
pub mod threads;

pub use startup::{Application, StartupError};

/// Server rendering allocates and frees many small objects per request, from several
/// threads at once, and some of it is freed on another thread than the one that
/// allocated it (the SQLite writer's replies, pool connections). jemalloc handled that
/// better than mimalloc, and far better than glibc's malloc (the README's "Performance"
/// has the figures). Every binary that links the server uses it.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

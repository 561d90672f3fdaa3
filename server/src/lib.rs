//! The `tributary` server: startup (connect, migrate, sessions, router, layers) as a
//! library, so that tests start the real application on port 0.

pub mod api_v1;
pub mod cli;
pub mod errors;
pub mod export;
pub mod health;
pub mod middleware;
pub mod referral;
pub mod seed;
pub mod session_store;
pub mod startup;
pub mod telemetry;

pub use startup::{Application, StartupError};

/// Server rendering allocates and frees many small objects per request, from two
/// worker threads at once; mimalloc does that markedly cheaper than glibc's malloc
/// (measured in `benches/http.rs`). Every binary that links the server uses it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

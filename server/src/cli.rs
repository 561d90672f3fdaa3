//! The command line: `serve` (the default), `migrate`, `create-admin`.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tributary",
    version,
    about = "Tributary: referral links and marketing attribution"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default).
    Serve,
    /// Bring the database schema up to date, then exit.
    Migrate,
    /// Create an admin account, or promote an existing one.
    CreateAdmin {
        #[arg(long)]
        email: String,
        /// The password; otherwise TRIBUTARY_ADMIN_PASSWORD, otherwise a prompt.
        #[arg(long)]
        password: Option<String>,
    },
    /// Fill a fresh database with a realistic, deterministic demo data set.
    SeedDemo {
        /// Users (each with a personal link); the first is an admin.
        #[arg(long, default_value_t = 100)]
        users: u64,
        /// Days of history, ending with --until.
        #[arg(long, default_value_t = 90)]
        days: i64,
        /// The random seed: the same seed (and --until) gives the same data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Conversions to make (about three touchpoints each).
        #[arg(long, default_value_t = 10_000)]
        conversions: u64,
        /// The last day of the data, YYYY-MM-DD (UTC); today by default.
        #[arg(long)]
        until: Option<chrono::NaiveDate>,
    },
    /// Create an API key for /api/v1 and print it (it is shown only once).
    CreateApiKey {
        #[arg(long)]
        name: String,
    },
}

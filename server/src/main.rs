use app::server::config::Config;
use clap::Parser;
use server::cli::{Cli, Command};
use server::{Application, startup, telemetry};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tributary: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init_with(config.server.log_format);
    match run(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tributary: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::Serve => {
            let app = Application::build(config).await?;
            tracing::info!("listening on http://{}", app.state().leptos_options.site_addr);
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            startup::prepare_database(&config).await?;
            println!("The database is up to date.");
        }
        Command::CreateAdmin { email, password } => {
            let password = match password.or_else(|| std::env::var("TRIBUTARY_ADMIN_PASSWORD").ok()) {
                Some(p) => p,
                None => rpassword::prompt_password("Password for the new admin: ")?,
            };
            let db = startup::prepare_database(&config).await?;
            match app::server::accounts::signup::create_admin(&db, &config, &email, &password).await {
                Ok((user, true)) => println!("Created admin {} (id {}).", user.email, user.id),
                Ok((user, false)) => {
                    println!("{} already had an account; it is now an admin.", user.email)
                }
                Err(e) => return Err(app::error::AppError::from(e).message.into()),
            }
        }
        Command::SeedDemo {
            users,
            days,
            seed,
            conversions,
            until,
        } => {
            if days < 1 {
                return Err("--days must be at least 1".into());
            }
            let db = startup::prepare_database(&config).await?;
            let started = std::time::Instant::now();
            let o = server::seed::SeedOptions {
                users,
                days,
                seed,
                conversions,
                until,
                quiet: false,
            };
            let s = server::seed::seed_demo(&db, &o).await?;
            println!(
                "Seeded {} users, {} identities, {} touchpoints, {} clicks and {} conversions in {:.1} s.",
                s.users,
                s.identities,
                s.touchpoints,
                s.responses,
                s.conversions,
                started.elapsed().as_secs_f64()
            );
            println!(
                "Every demo account's password is \"{}\"; demo0.s{seed}@demo.example is an admin.",
                server::seed::DEMO_PASSWORD
            );
        }
        Command::CreateApiKey { name } => {
            let db = startup::prepare_database(&config).await?;
            match app::server::api_keys::create(&db.write, &name, None).await {
                Ok(k) => {
                    println!("{}", k.secret);
                    eprintln!(
                        "Created API key {} (\"{}\"). Keep it secret: it is not shown again.",
                        k.key.id, k.key.name
                    );
                }
                Err(e) => return Err(app::error::AppError::from(e).message.into()),
            }
        }
    }
    Ok(())
}

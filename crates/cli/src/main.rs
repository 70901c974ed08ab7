//! The `punchcard` binary: serve, migrate, admin (operator CLI) and bench.

mod admin;
mod bench;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use punchcard_server::{Config, Server};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "punchcard",
    version = punchcard_server::build_info::LONG_VERSION,
    about = "Punchcard: a self-hosted loyalty and rewards platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (API, dashboard, health and metrics); applies migrations first.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DbArgs),
    /// Operator commands on the database; each prints JSON.
    Admin(admin::AdminArgs),
    /// Start a server on a fresh database, load it over HTTP and print throughput, latency
    /// and memory as JSON.
    Bench(bench::BenchArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    config: Config,

    /// Create, once, an active demo merchant with currencies and API keys, and print how to
    /// sign in (the demo owner gets a new password on each start with this flag).
    #[arg(long)]
    demo: bool,
}

#[derive(clap::Args)]
pub struct DbArgs {
    /// Database URL: sqlite://FILE or postgres://USER@HOST:PORT/DB.
    #[arg(
        long,
        env = "PUNCHCARD_DATABASE_URL",
        default_value = "sqlite://punchcard.db"
    )]
    pub database_url: String,
}

fn init_logs(json: bool) {
    punchcard_server::logs::init(json, "info,sqlx=warn,tower_http=info");
}

/// Warnings only unless `PUNCHCARD_LOG` asks for more: per-request logs would measure the
/// terminal, not the server.
fn init_quiet_logs() {
    punchcard_server::logs::init(punchcard_server::logs::json_from_env(), "warn");
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Migrate(args) => {
                init_logs(punchcard_server::logs::json_from_env());
                let db = punchcard_store::Db::connect(&args.database_url).await?;
                db.migrate().await?;
                println!("{}", serde_json::json!({"migrated": true}));
                Ok(())
            }
            Command::Admin(args) => {
                init_logs(punchcard_server::logs::json_from_env());
                admin::run(args).await
            }
            Command::Bench(args) => {
                init_quiet_logs();
                bench::run(args).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logs(args.config.log_format.eq_ignore_ascii_case("json"));
    let server = Server::build(args.config).await?;
    let addr = server.local_addr();
    if args.demo {
        let demo = server.state().app.ensure_demo().await?;
        print_demo(
            &demo,
            &server.state().base_url,
            &server.state().config.mail_dir,
        );
    }
    tracing::info!(%addr, base_url = %server.state().base_url, "punchcard listening");
    server.run(shutdown_signal()).await
}

fn print_demo(demo: &punchcard_app::demo::DemoAccount, base_url: &str, mail_dir: &std::path::Path) {
    let verb = if demo.created { "created" } else { "ready" };
    println!("Demo merchant {verb}: {}", demo.merchant_id);
    println!("  Dashboard: {base_url}/dashboard/login");
    println!("  Email:     {}", demo.email);
    println!("  Password:  {}", demo.password);
    println!(
        "  The sign-in code is emailed; without SMTP it is written under {}",
        mail_dir.display()
    );
    for (env, key) in &demo.new_keys {
        println!(
            "  {env} API key: {} secret: {} (shown once)",
            key.id, key.secret
        );
        println!(
            "    curl -u {}:{} {base_url}/api/v1/currencies",
            key.id, key.secret
        );
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

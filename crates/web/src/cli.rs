//! The `openiop` command line.
use crate::config::{Config, parse_duration};
use crate::startup::{Application, build_state};
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use openiop_domain::audit::ChainVerdict;
use std::io::Read;
use std::net::SocketAddr;

#[derive(Parser)]
#[command(name = "openiop", version, about = "OpenIOP: run an intensive outpatient program end to end")]
pub struct Cli {
    /// Database: sqlite://PATH (created if absent) or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "OPENIOP_DATABASE_URL", default_value = "sqlite://openiop.db")]
    pub database_url: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the web app (pages and JSON API).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Personal API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The weekly schedule optimizer.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Generate deterministic demo data (small program or a 160-site operator).
    Demo(openiop_demo::DemoArgs),
}

#[derive(Subcommand)]
pub enum ScheduleCommand {
    /// Solve an `iop-week/1` instance (JSON) into a schedule (JSON), with explanations in its stats.
    Solve {
        /// The instance file.
        instance: std::path::PathBuf,
        /// Where to write the solution.
        #[arg(short = 'o', long = "output")]
        output: std::path::PathBuf,
        /// Seconds of search, reading and writing included.
        #[arg(long, default_value_t = 10.0)]
        time_limit: f64,
        /// Random seed (the same seed and work budget give the same schedule).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// A fixed number of search iterations instead of a time limit (fully reproducible).
        #[arg(long)]
        iterations: Option<u64>,
        /// Worker threads (0: every core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// A current schedule to keep stable while re-planning.
        #[arg(long)]
        current: Option<std::path::PathBuf>,
    },
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "OPENIOP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Create (once) a bannered demo organization and print its staff logins.
    #[arg(long)]
    pub demo: bool,
    /// The address people use; https://… turns on Secure cookies.
    #[arg(long, env = "OPENIOP_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Sign staff out after this long without activity (e.g. 15m).
    #[arg(long, env = "OPENIOP_SESSION_IDLE", default_value = "15m", value_parser = parse_duration)]
    pub session_idle: chrono::Duration,
    /// Sign staff out this long after sign-in, however active (e.g. 12h).
    #[arg(long, env = "OPENIOP_SESSION_ABSOLUTE", default_value = "12h", value_parser = parse_duration)]
    pub session_absolute: chrono::Duration,
    /// Failed sign-ins before an account is locked.
    #[arg(long, env = "OPENIOP_LOCKOUT_FAILURES", default_value_t = 5)]
    pub lockout_failures: i64,
    /// How long a locked account stays locked (e.g. 15m).
    #[arg(long, env = "OPENIOP_LOCKOUT_DURATION", default_value = "15m", value_parser = parse_duration)]
    pub lockout_duration: chrono::Duration,
    /// The bearer token Prometheus sends to read /metrics (unset: /metrics is off).
    #[arg(long, env = "OPENIOP_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Addresses of reverse proxies whose X-Forwarded-For names the client (comma list).
    #[arg(long = "trusted-proxy", env = "OPENIOP_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a staff account; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// One or more roles (repeat or separate with commas): admin, clinical_director,
        /// clinician, prescriber, nurse, front_desk, biller, utilization_reviewer, auditor.
        #[arg(long = "role", required = true, value_delimiter = ',')]
        roles: Vec<String>,
        /// `organization` (default) or a comma list of site:<id> and program:<id>.
        #[arg(long, default_value = "organization")]
        scope: String,
        /// The organization's slug (created if absent).
        #[arg(long, default_value = "default")]
        organization: String,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Change a user's roles, scope or active flag (audited; their sessions end).
    Update {
        #[arg(long)]
        email: String,
        /// The new roles (repeat or separate with commas); unchanged if absent.
        #[arg(long = "role", value_delimiter = ',')]
        roles: Vec<String>,
        /// The new scope; unchanged if absent.
        #[arg(long)]
        scope: Option<String>,
        /// Deactivate (false) or reactivate (true) the account.
        #[arg(long)]
        active: Option<bool>,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a personal API token for a user; the token is the last line printed.
    Create {
        #[arg(long)]
        email: String,
        /// A name to recognise the token by.
        #[arg(long, default_value = "command line")]
        name: String,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain; exits non-zero naming the first bad entry.
    Verify,
}

/// The application on a database (migrated), for one command.
async fn app_for(url: &str) -> anyhow::Result<openiop_app::App> {
    Ok(build_state(Config::new(url)).await?.app)
}

fn err(e: openiop_domain::DomainError) -> anyhow::Error {
    match e {
        openiop_domain::DomainError::Validation(fields) => {
            anyhow::anyhow!(fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; "))
        }
        other => anyhow::anyhow!("{other}"),
    }
}

/// Runs a parsed command line; returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Serve(a) => {
            let mut config = Config::new(&cli.database_url);
            config.listen = a.listen;
            config.demo = a.demo;
            config.public_url = a.public_url.unwrap_or_else(|| format!("http://{}", a.listen));
            config.session.idle = a.session_idle;
            config.session.absolute = a.session_absolute;
            config.lockout.max_failures = a.lockout_failures;
            config.lockout.lockout = a.lockout_duration;
            config.metrics_token = a.metrics_token.filter(|t| !t.trim().is_empty());
            config.trusted_proxies = a.trusted_proxies;
            let app = Application::build(config).await?;
            println!("OpenIOP listening on http://{} ({} database)", app.addr, app.state.engine());
            if a.demo {
                println!("Demo organization ready. Sign in with any of these (password {}):", openiop_demo::DEMO_PASSWORD);
                for (email, role) in openiop_demo::logins() {
                    println!("  {email:<40} {role}");
                }
            }
            app.run().await?;
            Ok(0)
        }
        Command::Demo(a) => openiop_demo::run(&cli.database_url, a).await,
        Command::Migrate => {
            app_for(&cli.database_url).await?;
            println!("migrations applied");
            Ok(0)
        }
        Command::User(UserCommand::Create { email, name, roles, scope, organization, password_stdin }) => {
            if !password_stdin {
                bail!("pass --password-stdin and send the password on standard input");
            }
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password).context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\n', '\r']).to_string();
            let app = app_for(&cli.database_url).await?;
            let (user, org) =
                openiop_app::operator::create_staff(&app, &organization, &email, &name, &roles, &scope, &password).await.map_err(err)?;
            println!("created user {} ({}) in {}", user.email, user.id, org.slug);
            Ok(0)
        }
        Command::User(UserCommand::Update { email, roles, scope, active }) => {
            let app = app_for(&cli.database_url).await?;
            let roles = (!roles.is_empty()).then_some(roles.as_slice());
            match openiop_app::operator::update_access(&app, &email, roles, scope.as_deref(), active).await.map_err(err)? {
                Some(u) => println!("updated {}", u.email),
                None => println!("nothing to change for {email}"),
            }
            Ok(0)
        }
        Command::Token(TokenCommand::Create { email, name }) => {
            let app = app_for(&cli.database_url).await?;
            let (user, token) = openiop_app::operator::create_token(&app, &email, &name).await.map_err(err)?;
            println!("token for {} (shown once; store it safely):", user.email);
            println!("{token}");
            Ok(0)
        }
        Command::Schedule(ScheduleCommand::Solve { instance, output, time_limit, seed, iterations, threads, current }) => {
            let started = std::time::Instant::now();
            let json = std::fs::read_to_string(&instance).with_context(|| format!("reading {}", instance.display()))?;
            let current = match current {
                Some(p) => Some(
                    openiop_scheduler::parse_solution(&std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?)
                        .map_err(|e| anyhow::anyhow!("{e}"))?,
                ),
                None => None,
            };
            // The limit covers the whole command: leave room for writing the answer.
            let budget = (time_limit - started.elapsed().as_secs_f64() - 0.05).max(0.05);
            let opts = openiop_scheduler::SolveOptions {
                time_limit: std::time::Duration::from_secs_f64(budget),
                seed,
                threads,
                iterations,
                current,
                ..Default::default()
            };
            let solution = openiop_scheduler::solve_json(&json, &opts).map_err(|e| anyhow::anyhow!("{e}"))?;
            std::fs::write(&output, solution).with_context(|| format!("writing {}", output.display()))?;
            println!("schedule written to {} in {:.2} s", output.display(), started.elapsed().as_secs_f64());
            Ok(0)
        }
        Command::Audit(AuditCommand::Verify) => {
            let app = app_for(&cli.database_url).await?;
            match openiop_app::audit::verify(&app).await.map_err(err)? {
                ChainVerdict::Intact { entries } => {
                    println!("audit log intact: {entries} entries, hash chain verified");
                    Ok(0)
                }
                ChainVerdict::Broken { seq, reason } => {
                    eprintln!("audit log BROKEN at entry {seq}: {reason}");
                    Ok(1)
                }
            }
        }
    }
}

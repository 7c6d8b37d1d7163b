//! The `openiop` command line.
use crate::config::{Config, parse_duration};
use crate::security::hash_password;
use crate::startup::{Application, build_state};
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use openiop_domain::Store;
use openiop_domain::audit::{AuditAction, AuditEvent, ChainVerdict};
use openiop_domain::auth::{Role, Scope};
use openiop_domain::tenancy::Slug;
use openiop_domain::users::{Email, NewUser, check_new_password};
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
    Demo(crate::demo_gen::DemoArgs),
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

async fn store_for(url: &str) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    let state = build_state(Config::new(url)).await?;
    Ok(state.store)
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
            let app = Application::build(config).await?;
            println!("OpenIOP listening on http://{} ({} database)", app.addr, app.state.store.engine());
            if a.demo {
                println!("Demo organization ready. Sign in with any of these (password {}):", crate::pages::auth::DEMO_PASSWORD);
                for (email, role) in crate::demo_gen::logins() {
                    println!("  {email:<40} {role}");
                }
            }
            app.run().await?;
            Ok(0)
        }
        Command::Demo(a) => crate::demo_gen::run(&cli.database_url, a).await,
        Command::Migrate => {
            store_for(&cli.database_url).await?;
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
            check_new_password(&password).map_err(err)?;
            let email = Email::parse(&email).map_err(err)?;
            let roles = roles.iter().map(|r| r.parse::<Role>()).collect::<Result<Vec<_>, _>>().map_err(err)?;
            let scope = Scope::parse(&scope).map_err(err)?;
            let name = openiop_domain::tenancy::required_text("name", &name, 120).map_err(err)?;
            let store = store_for(&cli.database_url).await?;
            let org = match store.organization_by_slug(&organization).await.map_err(err)? {
                Some(o) => o,
                None => {
                    let slug = Slug::parse(&organization).map_err(err)?;
                    store
                        .create_organization(
                            &organization,
                            &slug,
                            false,
                            AuditEvent::system("cli", AuditAction::Create, "organization", None),
                        )
                        .await
                        .map_err(err)?
                }
            };
            let new = NewUser {
                organization_id: org.id,
                email,
                name,
                roles,
                scope,
                password_hash: hash_password(&password).map_err(err)?,
                mfa_exempt: false,
            };
            let user =
                store.create_user(new, AuditEvent::system("cli", AuditAction::Create, "user", None).in_org(org.id)).await.map_err(err)?;
            println!("created user {} ({}) in {}", user.email, user.id, org.slug);
            Ok(0)
        }
        Command::User(UserCommand::Update { email, roles, scope, active }) => {
            let store = store_for(&cli.database_url).await?;
            let user = store.user_credentials(&email).await.map_err(err)?.context("no user with that email")?.user;
            let new_roles = if roles.is_empty() {
                user.roles.clone()
            } else {
                roles.iter().map(|r| r.parse::<Role>()).collect::<Result<Vec<_>, _>>().map_err(err)?
            };
            let new_scope = match scope {
                Some(s) => Scope::parse(&s).map_err(err)?,
                None => user.scope.clone(),
            };
            let new_active = active.unwrap_or(user.active);
            let event = |action: AuditAction, detail: String| {
                let mut e = AuditEvent::system("cli", action, "user", Some(user.id.to_string())).in_org(user.organization_id);
                e.detail = detail;
                e
            };
            let mut audits = Vec::new();
            if new_roles != user.roles {
                let show = |r: &[Role]| r.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(",");
                audits.push(event(AuditAction::RoleChange, format!("{} -> {}", show(&user.roles), show(&new_roles))));
            }
            if new_scope != user.scope {
                audits.push(event(AuditAction::ScopeChange, format!("{} -> {}", user.scope, new_scope)));
            }
            if new_active != user.active {
                audits.push(event(AuditAction::Update, format!("active={new_active}")));
            }
            if audits.is_empty() {
                println!("nothing to change for {}", user.email);
                return Ok(0);
            }
            store.update_user_access(user.id, &new_roles, &new_scope, new_active, audits).await.map_err(err)?;
            println!("updated {}", user.email);
            Ok(0)
        }
        Command::Token(TokenCommand::Create { email, name }) => {
            let store = store_for(&cli.database_url).await?;
            let creds = store.user_credentials(&email).await.map_err(err)?.context("no user with that email")?;
            let token = format!("oiop_{}", crate::security::random_token().map_err(err)?);
            let ev = AuditEvent::system("cli", AuditAction::TokenCreated, "api_token", None).in_org(creds.user.organization_id);
            let ev = AuditEvent { user_id: Some(creds.user.id), ..ev };
            store.create_token(creds.user.id, &name, &crate::security::sha256_hex(&token), ev).await.map_err(err)?;
            println!("token for {} (shown once; store it safely):", creds.user.email);
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
            let store = store_for(&cli.database_url).await?;
            match store.audit_verify().await.map_err(err)? {
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

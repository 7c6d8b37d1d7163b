//! Runtime configuration, from flags and environment variables.
use openiop_domain::clock::{Clock, ManualClock};
use openiop_domain::users::{LockoutPolicy, SessionPolicy};
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub listen: SocketAddr,
    /// The address people use to reach the app; `https://…` turns on Secure cookies and HSTS.
    pub public_url: String,
    pub session: SessionPolicy,
    pub lockout: LockoutPolicy,
    /// Failed sign-ins allowed from one address per window before it is throttled.
    pub ip_failures_per_window: i64,
    pub ip_window: chrono::Duration,
    /// Create the demo organization on start.
    pub demo: bool,
    /// `/metrics` answers only with `Authorization: Bearer <this>`; without it, `/metrics` is off.
    pub metrics_token: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (throttling and the audit log
    /// use that address); every other peer is the client itself.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The one clock: the system's (shifted by `OPENIOP_CLOCK_OFFSET_DAYS` if set), or a
    /// manual one in tests and demos of a given week.
    pub clock: Arc<dyn Clock>,
}

impl Config {
    pub fn new(database_url: &str) -> Self {
        Self {
            database_url: database_url.to_string(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://127.0.0.1:8080".to_string(),
            session: SessionPolicy::default(),
            lockout: LockoutPolicy::default(),
            ip_failures_per_window: 30,
            ip_window: chrono::Duration::minutes(15),
            demo: false,
            metrics_token: None,
            trusted_proxies: Vec::new(),
            clock: openiop_app::system_clock(),
        }
    }

    /// Stops the clock at `now` (tests, fixed-week demos); the returned handle moves it.
    pub fn clock_at(&mut self, now: chrono::DateTime<chrono::Utc>) -> Arc<ManualClock> {
        let clock = Arc::new(ManualClock::at(now));
        self.clock = clock.clone();
        clock
    }

    /// What the use cases follow.
    pub fn settings(&self) -> openiop_app::Settings {
        openiop_app::Settings {
            session: self.session,
            lockout: self.lockout,
            ip_failures_per_window: self.ip_failures_per_window,
            ip_window: self.ip_window,
            audit_key: String::new(),
        }
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The origin (`scheme://host[:port]`) browsers send for our own pages.
    pub fn public_origin(&self) -> String {
        let url = self.public_url.trim_end_matches('/');
        match url.split_once("://") {
            Some((scheme, rest)) => {
                format!("{}://{}", scheme.to_ascii_lowercase(), rest.split('/').next().unwrap_or(rest).to_ascii_lowercase())
            }
            None => url.to_ascii_lowercase(),
        }
    }
}

/// Parses durations written like `15m`, `12h`, `30s`, `2d`.
pub fn parse_duration(s: &str) -> Result<chrono::Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num.parse().map_err(|_| format!("{s:?} is not a duration like 15m or 12h"))?;
    match unit {
        "s" => Ok(chrono::Duration::seconds(n)),
        "m" | "" => Ok(chrono::Duration::minutes(n)),
        "h" => Ok(chrono::Duration::hours(n)),
        "d" => Ok(chrono::Duration::days(n)),
        _ => Err(format!("{s:?}: use s, m, h or d")),
    }
}

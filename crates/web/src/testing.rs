//! Test support shared by the web crate's integration tests: the whole app in-process on a
//! fresh database of either engine, with helpers that act like a browser or an API client.
use crate::config::Config;
use crate::startup::{build_with_store, router};
use crate::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use openiop_domain::Store;
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Role, Scope};
use openiop_domain::tenancy::{NewSite, Organization, Site, Slug};
use openiop_domain::users::{Email, NewUser, User};
use openiop_store::SqlStore;
use openiop_store::testing::{fresh_database, tempfile_dir::TempDir};
use std::sync::Arc;
use tower::ServiceExt;

pub use openiop_store::testing::engines;

pub struct TestApp {
    pub engine: &'static str,
    pub state: AppState,
    /// The store itself, for seeding data and looking behind the use cases (and, through
    /// [`SqlStore::fail_after_statements`], for injecting failures).
    pub store: Arc<dyn Store>,
    pub sql: SqlStore,
    pub router: Router,
    pub org: Organization,
    pub site: Site,
    pub database_url: String,
    _guard: Option<TempDir>,
}

/// A response, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn location(&self) -> Option<&str> {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok())
    }

    /// `name=value` pairs set by this response.
    pub fn set_cookies(&self) -> Vec<(String, String)> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The value of a hidden or text input named `name` in the page.
    pub fn input_value(&self, name: &str) -> Option<String> {
        let key = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&key)? + key.len();
        let end = self.body[start..].find('"')?;
        Some(self.body[start..start + end].to_string())
    }

    /// Text of the element with this id (no nested tags).
    pub fn text_of(&self, id: &str) -> Option<String> {
        let key = format!("id=\"{id}\"");
        let at = self.body.find(&key)?;
        let start = at + self.body[at..].find('>')? + 1;
        let end = start + self.body[start..].find('<')?;
        Some(self.body[start..end].to_string())
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// The app on a fresh database, with one organization and one site.
    pub async fn new(engine: &'static str) -> Self {
        Self::with_config(engine, |_| {}).await
    }

    pub async fn with_config(engine: &'static str, adjust: impl FnOnce(&mut Config)) -> Self {
        // OPENIOP_LOG=warn (or any filter) shows the server's log while debugging a test.
        if std::env::var_os("OPENIOP_LOG").is_some() {
            crate::telemetry::init_logging();
        }
        let (url, guard) = fresh_database(engine).await;
        let mut config = Config::new(&url);
        adjust(&mut config);
        let (state, sql) = build_with_store(config).await.expect("app state");
        let store: Arc<dyn Store> = Arc::new(sql.clone());
        let org = store
            .create_organization(
                "Harbor Light",
                &Slug::parse("harbor-light").expect("slug"),
                false,
                AuditEvent::system("test", AuditAction::Create, "organization", None),
            )
            .await
            .expect("organization");
        let site = NewSite::parse("Harbor Light Newark", "1 Market St", "Newark", "NJ", "07102", "America/New_York").expect("site");
        let site = store
            .create_site(org.id, site, AuditEvent::system("test", AuditAction::Create, "site", None).in_org(org.id))
            .await
            .expect("site");
        let router = router(state.clone());
        Self { engine, state, store, sql, router, org, site, database_url: url, _guard: guard }
    }

    /// A staff account with the test password (MFA required, like every real account).
    pub async fn staff(&self, email: &str, roles: &[Role], scope: Scope) -> User {
        let user = NewUser {
            organization_id: self.org.id,
            email: Email::parse(email).expect("email"),
            name: format!("Staff {email}"),
            roles: roles.to_vec(),
            scope,
            password_hash: openiop_app::security::hash_password(PASSWORD).expect("hash"),
            mfa_exempt: false,
        };
        self.store.create_user(user, AuditEvent::system("test", AuditAction::Create, "user", None).in_org(self.org.id)).await.expect("user")
    }

    /// A personal API token for a user.
    pub async fn token(&self, user: &User) -> String {
        let token = format!("oiop_{}", openiop_app::security::random_token().expect("random"));
        let ev = AuditEvent::system("test", AuditAction::TokenCreated, "api_token", None).in_org(self.org.id);
        self.store.create_token(user.id, "test", &openiop_app::security::sha256_hex(&token), ev).await.expect("token");
        token
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024).await.expect("body");
        Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    /// An API call with an optional bearer token and JSON body.
    pub async fn api(&self, method: Method, path: &str, token: Option<&str>, body: Option<serde_json::Value>) -> Reply {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(v) => b.header(header::CONTENT_TYPE, "application/json").body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        };
        self.send(req.expect("request")).await
    }

    /// Today at the test site (New Jersey), by the app's clock.
    pub fn today(&self) -> chrono::NaiveDate {
        self.state.clock().today_in(self.site.time_zone.0)
    }

    /// A date `days` before today at the test site, as `YYYY-MM-DD`.
    pub fn days_ago(&self, days: i64) -> String {
        (self.today() - chrono::Duration::days(days)).to_string()
    }

    pub fn browser(&self) -> Browser<'_> {
        Browser { app: self, cookies: Vec::new() }
    }
}

/// A cookie-keeping client that submits forms the way a browser does.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookies: Vec<(String, String)>,
}

impl Browser<'_> {
    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep(&mut self, r: &Reply) {
        for (k, v) in r.set_cookies() {
            self.cookies.retain(|(name, _)| *name != k);
            if !v.is_empty() {
                self.cookies.push((k, v));
            }
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        let req = Request::builder().uri(path).header(header::COOKIE, self.cookie_header()).body(Body::empty()).expect("request");
        let r = self.app.send(req).await;
        self.keep(&r);
        r
    }

    /// Posts a form as a same-origin browser would.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", k, percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)))
            .collect::<Vec<_>>()
            .join("&");
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "localhost")
            .header(header::ORIGIN, "http://localhost")
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(body))
            .expect("request");
        let r = self.app.send(req).await;
        self.keep(&r);
        r
    }

    /// Password step of sign-in.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Reply {
        let form = self.get("/login").await;
        let csrf = form.input_value("csrf").expect("login form has a CSRF token");
        self.post("/login", &[("email", email), ("password", password), ("csrf", &csrf)]).await
    }

    /// Full sign-in for an account with no MFA yet: password, enrol TOTP, done.
    pub async fn sign_in_enrolling(&mut self, email: &str) -> Reply {
        let r = self.sign_in(email, PASSWORD).await;
        assert_eq!(r.location(), Some("/mfa"), "password accepted, MFA next");
        let page = self.get("/mfa").await;
        let secret = page.text_of("totp-secret").expect("enrolment shows the secret");
        let csrf = page.input_value("csrf").expect("csrf");
        let code = openiop_app::security::totp::code(&secret, openiop_app::security::totp::step_at(self.app.state.now().timestamp()))
            .expect("code");
        self.post("/mfa/enroll", &[("code", &code), ("csrf", &csrf)]).await
    }
}

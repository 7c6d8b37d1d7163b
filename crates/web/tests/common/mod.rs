//! Browser test harness: the real app on a real socket, driven in real Chromium through
//! ChromeDriver (Debian's `chromium` and `chromium-driver`).
//!
//! Without ChromeDriver the browser tests skip with a message — except under `CI=true`,
//! where they fail. Screenshots go to `artifacts/screenshots/` (or `OPENIOP_SCREENSHOT_DIR`).
#![allow(dead_code)]

use openiop_web::config::Config;
use openiop_web::startup::Application;
use openiop_web::state::AppState;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use thirtyfour::prelude::*;

pub struct BrowserTest {
    pub driver: WebDriver,
    pub base: String,
    pub state: AppState,
    pub store: std::sync::Arc<dyn openiop_domain::Store>,
    chromedriver: Child,
    _profile: openiop_store::testing::tempfile_dir::TempDir,
    _db: Option<openiop_store::testing::tempfile_dir::TempDir>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn chromedriver_path() -> Option<PathBuf> {
    let p = std::env::var("OPENIOP_CHROMEDRIVER").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from("/usr/bin/chromedriver"));
    p.exists().then_some(p)
}

fn chromium_path() -> String {
    std::env::var("OPENIOP_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string())
}

pub fn screenshot_dir() -> PathBuf {
    let dir = std::env::var("OPENIOP_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../artifacts/screenshots"));
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

impl BrowserTest {
    /// Starts the app (SQLite, fresh database) and a headless Chromium; `None` to skip.
    pub async fn start(adjust: impl FnOnce(&mut Config)) -> Option<Self> {
        let Some(driver_bin) = chromedriver_path() else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but chromedriver is missing: install Debian's chromium and chromium-driver");
            }
            eprintln!("SKIPPED: chromedriver not found (apt-get install chromium chromium-driver)");
            return None;
        };
        let (url, db_guard) = openiop_store::testing::fresh_database("sqlite").await;
        let mut config = Config::new(&url);
        config.listen = "127.0.0.1:0".parse().expect("addr");
        adjust(&mut config);
        let app = Application::build(config).await.expect("app");
        let base = format!("http://{}", app.addr);
        let state = app.state.clone();
        let store: std::sync::Arc<dyn openiop_domain::Store> = std::sync::Arc::new(app.store.clone());
        tokio::spawn(async move {
            let _ = app.run().await;
        });

        let port = free_port();
        let chromedriver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = openiop_store::testing::tempfile_dir::TempDir::new();
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(&chromium_path()).expect("binary");
        for arg in [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,1000",
        ] {
            caps.add_arg(arg).expect("arg");
        }
        caps.add_arg(&format!("--user-data-dir={}", profile.path().display())).expect("profile");
        let driver = WebDriver::new(format!("http://127.0.0.1:{port}"), caps).await.expect("a Chromium session");
        Some(Self { driver, base, state, store, chromedriver, _profile: profile, _db: db_guard })
    }

    pub async fn open(&self, path: &str) {
        self.driver.goto(format!("{}{}", self.base, path)).await.expect("navigate");
    }

    pub async fn path(&self) -> String {
        self.driver.current_url().await.expect("url").path().to_string()
    }

    pub async fn fill(&self, id: &str, text: &str) {
        let el = self.driver.find(By::Id(id)).await.unwrap_or_else(|e| panic!("#{id}: {e}"));
        el.clear().await.expect("clear");
        el.send_keys(text).await.expect("type");
    }

    /// The text of the first element matching `css`, waiting (up to 10 s) for it to appear:
    /// after a click or Enter the next page loads asynchronously.
    pub async fn text(&self, css: &str) -> String {
        let mut last = String::new();
        for _ in 0..100 {
            match self.driver.find(By::Css(css)).await {
                Ok(el) => match el.text().await {
                    Ok(t) => return t,
                    Err(e) => last = e.to_string(),
                },
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css}: {last}");
    }

    /// Waits (up to 10 s) for the page heading to read `expected`: navigation after a click or
    /// Enter finishes asynchronously.
    pub async fn expect_h1(&self, expected: &str) {
        let mut last = String::new();
        for _ in 0..100 {
            if let Ok(el) = self.driver.find(By::Css("h1")).await
                && let Ok(t) = el.text().await
            {
                if t == expected {
                    return;
                }
                last = t;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected heading {expected:?}, page shows {last:?}");
    }

    /// Waits (up to 10 s) for the browser to reach `path`.
    pub async fn expect_path(&self, expected: &str) {
        let mut last = String::new();
        for _ in 0..100 {
            last = self.path().await;
            if last == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected to be at {expected}, browser is at {last}");
    }

    pub async fn click(&self, css: &str) {
        self.driver.find(By::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).click().await.expect("click");
    }

    /// Presses Enter in a field (keyboard-only submission).
    pub async fn enter(&self, id: &str) {
        let el = self.driver.find(By::Id(id)).await.expect("field");
        el.send_keys(Key::Enter).await.expect("enter");
    }

    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let path = screenshot_dir().join(format!("{name}.png"));
        self.driver.screenshot(&path).await.expect("screenshot");
        path
    }

    /// Runs axe-core (from npm, if installed) against the page and returns WCAG A/AA violations.
    pub async fn accessibility_violations(&self) -> Option<Vec<String>> {
        let axe = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../node_modules/axe-core/axe.min.js");
        let Ok(source) = std::fs::read_to_string(&axe) else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but node_modules/axe-core is missing: run npm ci");
            }
            eprintln!("SKIPPED accessibility check: npm ci not run");
            return None;
        };
        self.driver.execute(&source, vec![]).await.expect("inject axe");
        let ret = self
            .driver
            .execute(
                "return axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})\
                 .then(r => r.violations.map(v => v.id + ': ' + v.help + ' (' + v.nodes.length + ')'));",
                vec![],
            )
            .await
            .expect("axe run");
        Some(ret.convert::<Vec<String>>().expect("violations list"))
    }

    pub async fn finish(mut self) {
        let _ = self.driver.quit().await;
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
    }
}

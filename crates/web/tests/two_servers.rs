//! Two `openiop serve` processes on one database behave as one app, as behind a load balancer:
//! a track or room added through one is in the next answer of the other, though the other had
//! just read (and cached) the list without it; a director signed in on one is signed in on the
//! other, and signing out on the other ends the session on both. On PostgreSQL (the deployment
//! with several app servers) and on one SQLite file.
use serde_json::{Value, json};
use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A running `openiop serve`, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn openiop(db: &str, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_openiop"))
        .args(args)
        .env("OPENIOP_DATABASE_URL", db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openiop");
    if let Some(input) = stdin {
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("wait")
}

async fn serve(db: &str, demo: bool) -> Server {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "--listen", &listen];
    if demo {
        args.push("--demo");
    }
    let child = Command::new(env!("CARGO_BIN_EXE_openiop"))
        .args(&args)
        .env("OPENIOP_DATABASE_URL", db)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start openiop serve");
    let server = Server { child, port };
    for _ in 0..600 {
        if let Ok(r) = request(port, "GET", "/healthz", &[], None).await
            && r.status == 200
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("openiop serve on port {port} did not answer /healthz within a minute");
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn set_cookies(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| v.split(';').next()?.split_once('=').map(|(a, b)| (a.trim().to_string(), b.trim().to_string())))
            .collect()
    }

    /// The value of a hidden form field (the CSRF token).
    fn input_value(&self, name: &str) -> Option<String> {
        let at = self.body.find(&format!("name=\"{name}\" value=\""))? + name.len() + 15;
        Some(self.body[at..].split('"').next()?.to_string())
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), read to the end.
async fn request(port: u16, method: &str, path: &str, headers: &[(&str, String)], body: Option<(&str, String)>) -> std::io::Result<Answer> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let payload = body.as_ref().map(|(_, b)| b.clone()).unwrap_or_default();
    if let Some((content_type, b)) = &body {
        head.push_str(&format!("Content-Type: {content_type}\r\nContent-Length: {}\r\n", b.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(payload.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))).collect();
    let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked { dechunk(rest) } else { rest.to_string() };
    Ok(Answer { status, headers, body })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].strip_prefix("\r\n").unwrap_or(&rest[n..]);
    }
    out
}

async fn api(port: u16, method: &str, path: &str, token: &str, body: Option<Value>) -> Answer {
    let auth = [("Authorization", format!("Bearer {token}"))];
    request(port, method, path, &auth, body.map(|b| ("application/json", b.to_string()))).await.expect("request")
}

/// A browser's cookie jar against one or the other server.
#[derive(Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn header(&self) -> (&'static str, String) {
        ("Cookie", self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "))
    }

    fn keep(&mut self, a: &Answer) {
        for (k, v) in a.set_cookies() {
            self.0.retain(|(name, _)| *name != k);
            if !v.is_empty() {
                self.0.push((k, v));
            }
        }
    }

    async fn get(&mut self, port: u16, path: &str) -> Answer {
        let a = request(port, "GET", path, &[self.header()], None).await.expect("request");
        self.keep(&a);
        a
    }

    async fn post(&mut self, port: u16, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)))
            .collect::<Vec<_>>()
            .join("&");
        let headers = [self.header(), ("Origin", format!("http://127.0.0.1:{port}"))];
        let a = request(port, "POST", path, &headers, Some(("application/x-www-form-urlencoded", body))).await.expect("request");
        self.keep(&a);
        a
    }
}

async fn two_servers_behave_as_one(engine: &'static str) {
    let (db, _guard) = openiop_store::testing::fresh_database(engine).await;
    // The first server creates the demo clinic; the second joins the same database.
    let a = serve(&db, true).await;
    let b = serve(&db, false).await;
    let director = format!("director@{}.example.org", openiop_demo::demo_slug());
    // The demo clinic is made in the background once A listens: wait for its director and programs.
    let mut ready = None;
    for _ in 0..1200 {
        let o = openiop(&db, &["token", "create", "--email", &director], None);
        if o.status.success() {
            let token = String::from_utf8_lossy(&o.stdout).lines().last().expect("token line").trim().to_string();
            let programs = api(b.port, "GET", "/api/v1/programs", &token, None).await.json();
            if let Some(p) = programs.as_array().and_then(|p| p.first()).cloned() {
                ready = Some((token, p));
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (token, program) = ready.expect("the demo clinic is ready within two minutes");

    // Server B reads a program's tracks and the rooms (and keeps them in its cache).
    let (pid, site) = (program["id"].as_str().unwrap().to_string(), program["site_id"].as_str().unwrap().to_string());
    let tracks_path = format!("/api/v1/programs/{pid}/tracks");
    let before = api(b.port, "GET", &tracks_path, &token, None).await;
    assert_eq!(before.status, 200, "{engine}: {}", before.body);
    assert!(!before.body.contains("Saturday mornings"));
    let rooms = api(b.port, "GET", "/api/v1/rooms", &token, None).await;
    assert!(rooms.status == 200 && !rooms.body.contains("Garden room"), "{engine}: {}", rooms.body);

    // Through server A the program gains a track and its site a room ...
    let made = api(a.port, "POST", &tracks_path, &token, Some(json!({"name": "Saturday mornings", "delivery_mode": "in_person"}))).await;
    assert_eq!(made.status, 201, "{engine}: {}", made.body);
    let room = json!({"name": "Garden room", "kind": "group", "capacity": 12});
    let made = api(a.port, "POST", &format!("/api/v1/sites/{site}/rooms"), &token, Some(room)).await;
    assert_eq!(made.status, 201, "{engine}: {}", made.body);

    // ... and the very next request to server B sees both.
    let after = api(b.port, "GET", &tracks_path, &token, None).await;
    assert!(after.body.contains("Saturday mornings"), "{engine}: server B still shows the old tracks: {}", after.body);
    let rooms = api(b.port, "GET", "/api/v1/rooms", &token, None).await;
    assert!(rooms.body.contains("Garden room"), "{engine}: server B still shows the old rooms: {}", rooms.body);

    // A director signs in on server A; the load balancer sends her next request to server B.
    let mut jar = Jar::default();
    let login = jar.get(a.port, "/login").await;
    let csrf = login.input_value("csrf").expect("the login form's CSRF token");
    let signed = jar.post(a.port, "/login", &[("email", &director), ("password", openiop_demo::DEMO_PASSWORD), ("csrf", &csrf)]).await;
    assert_eq!((signed.status, signed.header("location")), (303, Some("/")), "{engine}: signed in on A");
    let home = jar.get(b.port, "/").await;
    assert_eq!(home.status, 200, "{engine}: server B honours the session made on A");
    assert!(home.body.contains("Sign out"), "{engine}: signed in on B");

    // She signs out on B: the session is over on A too.
    let csrf = home.input_value("csrf").expect("the page's CSRF token");
    let out = jar.post(b.port, "/logout", &[("csrf", &csrf)]).await;
    assert!(matches!(out.status, 302 | 303), "{engine}: signed out on B: {}", out.status);
    let again = jar.get(a.port, "/").await;
    assert!(matches!(again.status, 302 | 303) && again.header("location") == Some("/login"), "{engine}: A no longer knows her session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_app_servers_on_one_database_behave_as_one() {
    for engine in openiop_store::testing::engines() {
        two_servers_behave_as_one(engine).await;
    }
}

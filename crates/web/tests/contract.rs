//! The OpenAPI document tells the truth: schemathesis (PyPI), a property-based API tester,
//! generates requests from `/api/openapi.json` for every operation and checks every answer
//! against it — no server error, no status, content type, header or body the document does not
//! describe — against a server with the demo clinic's data and a clinical director's token, on
//! SQLite and PostgreSQL. A deliberately wrong document is caught by the same run (the tester
//! really checks).
use chrono::{TimeZone, Utc};
use openiop_web::config::Config;
use openiop_web::startup::Application;
use std::process::Command;

/// Whether schemathesis can run here; under CI it must.
fn schemathesis() -> Option<&'static str> {
    let found = Command::new("schemathesis").arg("--version").output().is_ok_and(|o| o.status.success());
    if found {
        return Some("schemathesis");
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but schemathesis is missing: pip install -r requirements-test.txt");
    }
    eprintln!("SKIPPED: schemathesis not installed (pip install -r requirements-test.txt)");
    None
}

/// The demo clinic on a real socket (a fixed week), and a clinical director's API token.
async fn serve(engine: &'static str) -> (String, String, Option<openiop_store::testing::tempfile_dir::TempDir>) {
    let (url, guard) = openiop_store::testing::fresh_database(engine).await;
    let mut config = Config::new(&url);
    config.listen = "127.0.0.1:0".parse().expect("addr");
    config.demo = true;
    config.clock_at(Utc.with_ymd_and_hms(2026, 11, 18, 15, 0, 0).single().expect("time"));
    let app = Application::build(config).await.expect("app");
    let base = format!("http://{}", app.addr);
    let director = format!("director@{}.example.org", openiop_demo::demo_slug());
    let (_, token) = openiop_app::operator::create_token(&app.state, &director, "contract").await.expect("token");
    tokio::spawn(async move {
        let _ = app.run().await;
    });
    (base, token, guard)
}

fn run(tool: &str, args: &[String]) -> (bool, String) {
    let out = Command::new(tool).args(args).env("NO_COLOR", "1").output().expect("run schemathesis");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

const CHECKS: &str =
    "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance";

async fn the_api_answers_as_its_document_says(engine: &'static str) {
    let Some(tool) = schemathesis() else { return };
    let (base, token, _guard) = serve(engine).await;
    let report = std::env::temp_dir().join(format!("openiop-schemathesis-{engine}-{}", uuid::Uuid::new_v4().simple()));
    let args: Vec<String> = [
        "run",
        &format!("{base}/api/openapi.json"),
        "-H",
        &format!("Authorization: Bearer {token}"),
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "8",
        "--seed",
        "1",
        "--workers",
        "2",
        "--no-color",
        "--generation-database",
        "none",
        "--report-dir",
        &report.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (passed, text) = tokio::task::spawn_blocking(move || run(tool, &args)).await.expect("schemathesis");
    let _ = std::fs::remove_dir_all(&report);
    assert!(passed, "{engine}: schemathesis found answers the document does not describe (each with its reproduction):\n{text}");
    assert!(text.contains("Tested:"), "{engine}: the run tested the API: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_the_openapi_document_says_on_every_engine() {
    for engine in openiop_web::testing::engines() {
        the_api_answers_as_its_document_says(engine).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_that_lies_is_caught() {
    let Some(tool) = schemathesis() else { return };
    let (base, _token, _guard) = serve("sqlite").await;
    // Claims /healthz answers a JSON object with a `status` field; it answers the text "ok".
    let lie = serde_json::json!({
        "openapi": "3.1.0",
        "info": {"title": "a wrong description of OpenIOP", "version": "0"},
        "paths": {"/healthz": {"get": {"responses": {"200": {"description": "alive",
            "content": {"application/json": {"schema": {"type": "object", "required": ["status"]}}}}}}}}
    });
    let file = std::env::temp_dir().join(format!("openiop-lie-{}.json", uuid::Uuid::new_v4().simple()));
    std::fs::write(&file, lie.to_string()).expect("write the wrong document");
    let args: Vec<String> = [
        "run",
        &file.display().to_string(),
        "--url",
        &base,
        "--checks",
        CHECKS,
        "--max-examples",
        "2",
        "--no-color",
        "--generation-database",
        "none",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (passed, text) = tokio::task::spawn_blocking(move || run(tool, &args)).await.expect("schemathesis");
    let _ = std::fs::remove_file(&file);
    assert!(!passed, "the wrong document must fail: {text}");
    assert!(text.to_lowercase().contains("content-type") || text.contains("ST"), "{text}");
}

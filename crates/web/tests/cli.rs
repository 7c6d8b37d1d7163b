//! The `openiop` binary as an operator uses it: users, tokens, the audit chain.
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn openiop(db: &str, args: &[&str], stdin: Option<&str>) -> Output {
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

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

async fn operator_story(engine: &str) {
    let (url, _guard) = openiop_store::testing::fresh_database(engine).await;
    let help = openiop(&url, &["--help"], None);
    assert!(text(&help).contains("serve") && text(&help).contains("audit"));
    for sub in [
        vec!["serve", "--help"],
        vec!["user", "create", "--help"],
        vec!["token", "create", "--help"],
        vec!["audit", "verify", "--help"],
        vec!["migrate", "--help"],
    ] {
        assert!(openiop(&url, &sub, None).status.success(), "{sub:?} --help");
    }

    assert!(openiop(&url, &["migrate"], None).status.success());
    let o = openiop(
        &url,
        &["user", "create", "--email", "ada@clinic.org", "--name", "Ada Admin", "--role", "admin", "--password-stdin"],
        Some("a long enough password\n"),
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = openiop(
        &url,
        &["user", "create", "--email", "short@clinic.org", "--name", "S", "--role", "admin", "--password-stdin"],
        Some("short\n"),
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("at least 12 characters"));
    let o = openiop(
        &url,
        &["user", "create", "--email", "x@clinic.org", "--name", "X", "--role", "wizard", "--password-stdin"],
        Some("a long enough password\n"),
    );
    assert!(!o.status.success() && text(&o).contains("role"));

    let o = openiop(&url, &["token", "create", "--email", "ada@clinic.org"], None);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let token = stdout.lines().last().expect("token line").trim().to_string();
    assert!(token.starts_with("oiop_"));

    // A role and scope change is audited, and the old token keeps only the new permissions.
    let site = "site:01900000-0000-7000-8000-000000000001";
    let o = openiop(&url, &["user", "update", "--email", "ada@clinic.org", "--role", "auditor", "--scope", site], None);
    assert!(o.status.success(), "{}", text(&o));
    let store = openiop_store::SqlStore::connect(&url).await.expect("connect");
    let org = openiop_domain::store::AccountStore::user_credentials(&store, "ada@clinic.org").await.unwrap().unwrap().user;
    assert_eq!(org.roles, vec![openiop_domain::auth::Role::Auditor]);
    let log =
        openiop_domain::store::AccountStore::audit_search(&store, org.organization_id, &openiop_domain::store::AuditFilter::default())
            .await
            .unwrap();
    assert!(log.iter().any(|e| e.event.action == "role_change" && e.event.detail == "admin -> auditor"));
    assert!(log.iter().any(|e| e.event.action == "scope_change"));
    store.close().await;

    let o = openiop(&url, &["audit", "verify"], None);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("intact"));

    // Tampering by hand, with the guard trigger dropped, is detected and the entry named.
    let store = openiop_store::SqlStore::connect(&url).await.expect("connect");
    openiop_store::testing::drop_audit_guard(&store, "update").await.expect("drop trigger");
    openiop_store::testing::raw_sql(&store, "UPDATE audit_log SET detail = 'edited' WHERE seq = 2").await.expect("edit");
    store.close().await;
    let o = openiop(&url, &["audit", "verify"], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("entry 2"), "{}", text(&o));
}

#[tokio::test]
async fn an_operator_creates_staff_and_tokens_and_verifies_the_audit_chain() {
    for engine in openiop_store::testing::engines() {
        operator_story(engine).await;
    }
}

#[test]
fn the_optimizer_solves_a_week_from_the_command_line_and_the_same_seed_gives_the_same_schedule() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scheduler/tests/data/tiny-1.json");
    let dir = openiop_store::testing::tempfile_dir::TempDir::new();
    let mut outputs = Vec::new();
    for run in 0..2 {
        let out = dir.path().join(format!("solution-{run}.json"));
        let o = openiop(
            "sqlite://unused.db",
            &["schedule", "solve", data.to_str().unwrap(), "-o", out.to_str().unwrap(), "--iterations", "2000", "--seed", "7"],
            None,
        );
        assert!(o.status.success(), "{}", text(&o));
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert!(!v["sessions"].as_array().unwrap().is_empty());
        assert!(v["stats"]["explanations"].is_array());
        outputs.push(v["sessions"].clone());
    }
    assert_eq!(outputs[0], outputs[1], "same seed and work budget, same schedule");
}

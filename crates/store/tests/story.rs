//! One clinic's story, told to the store on SQLite and on PostgreSQL alike.
use chrono::{Duration, Utc};
use openiop_domain::Store;
use openiop_domain::audit::{AuditAction, AuditEvent, ChainVerdict};
use openiop_domain::auth::{Role, Scope};
use openiop_domain::store::AccountStore;
use openiop_domain::store::AuditFilter;
use openiop_domain::tenancy::{NewSite, Slug};
use openiop_domain::users::{Email, LockoutPolicy, NewUser, SessionStage, StaffSession};
use openiop_store::testing::{engines, fresh_store};
use sqlx::Executor;

fn system(action: AuditAction, what: &str) -> AuditEvent {
    AuditEvent::system("story", action, what, None)
}

async fn clinic_story(engine: &str) {
    let (store, _guard) = fresh_store(engine).await;
    // Tuesday 2026-11-17, 14:00 UTC: the store reads the time only from its clock.
    let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 17, 14, 0, 0).single().expect("time");
    let store = store.with_clock(std::sync::Arc::new(openiop_domain::clock::ManualClock::at(at)));
    assert_eq!(store.engine(), engine);

    // A new organization opens a site in New Jersey.
    let org = store
        .create_organization("Harbor Light", &Slug::parse("harbor-light").unwrap(), false, system(AuditAction::Create, "organization"))
        .await
        .unwrap();
    let site = NewSite::parse("Harbor Light Newark", "1 Market St", "Newark", "NJ", "07102", "America/New_York").unwrap();
    let site = store.create_site(org.id, site, system(AuditAction::Create, "site").in_org(org.id)).await.unwrap();
    assert_eq!(store.sites(org.id).await.unwrap(), vec![site.clone()]);
    assert_eq!(store.site(org.id, site.id).await.unwrap().time_zone.name(), "America/New_York");

    // Another organization never sees it.
    let other = store
        .create_organization("Elsewhere", &Slug::parse("elsewhere").unwrap(), false, system(AuditAction::Create, "organization"))
        .await
        .unwrap();
    assert!(store.sites(other.id).await.unwrap().is_empty());
    assert!(matches!(store.site(other.id, site.id).await, Err(openiop_domain::DomainError::NotFound(_))));

    // The clinical director gets an account scoped to the site.
    let director = NewUser {
        organization_id: org.id,
        email: Email::parse("Director@Harbor.org").unwrap(),
        name: "Dana Director".into(),
        roles: vec![Role::ClinicalDirector, Role::Clinician],
        scope: Scope::Units { sites: vec![site.id], programs: vec![] },
        password_hash: "$argon2id$placeholder".into(),
        mfa_exempt: false,
    };
    let user = store.create_user(director.clone(), system(AuditAction::Create, "user").in_org(org.id)).await.unwrap();
    assert_eq!(user.roles, vec![Role::ClinicalDirector, Role::Clinician]);
    let dup = store.create_user(director, system(AuditAction::Create, "user")).await.unwrap_err();
    assert_eq!(dup.code(), "email_taken");
    let creds = store.user_credentials("director@harbor.org").await.unwrap().expect("found by email, any case");
    assert_eq!(creds.user.scope, Scope::Units { sites: vec![site.id], programs: vec![] });
    assert!(!creds.user.mfa_enrolled);

    // Five wrong passwords lock the account.
    let policy = LockoutPolicy { max_failures: 5, lockout: Duration::minutes(15) };
    let now = at;
    for i in 1..=5 {
        let mut ev = system(AuditAction::LoginFailure, "staff_session").in_org(org.id);
        ev.source_ip = "10.0.0.7".into();
        let locked = store.record_login_failure(Some(user.id), policy, now, ev).await.unwrap();
        assert_eq!(locked, i == 5, "attempt {i}");
    }
    let creds = store.user_credentials("director@harbor.org").await.unwrap().unwrap();
    assert!(creds.locked_until.expect("locked") > now);
    assert_eq!(store.recent_events("login_failure", Some("10.0.0.7"), None, now - Duration::minutes(1)).await.unwrap(), 5);
    assert_eq!(store.recent_events("login_failure", Some("10.0.0.8"), None, now - Duration::minutes(1)).await.unwrap(), 0);

    // MFA: a TOTP step is accepted once; recovery codes are single-use.
    store.enroll_totp(user.id, "JBSWY3DPEHPK3PXP", &["h1".into(), "h2".into()], system(AuditAction::MfaEnrolled, "user")).await.unwrap();
    assert!(store.advance_totp_step(user.id, 100).await.unwrap());
    assert!(!store.advance_totp_step(user.id, 100).await.unwrap(), "a replayed step is refused");
    assert!(!store.advance_totp_step(user.id, 99).await.unwrap());
    assert!(store.use_recovery_code(user.id, "h1", system(AuditAction::RecoveryCodeUsed, "user")).await.unwrap());
    assert!(!store.use_recovery_code(user.id, "h1", system(AuditAction::RecoveryCodeUsed, "user")).await.unwrap());
    assert_eq!(store.unused_recovery_codes(user.id).await.unwrap(), 1);

    // A session: pending MFA, then rotated to a new id at sign-in.
    let pending = StaffSession {
        id_hash: "pending-hash".into(),
        user_id: user.id,
        stage: SessionStage::MfaPending,
        csrf_token: "c1".into(),
        created_at: now,
        last_seen_at: now,
        pending_totp_secret: None,
    };
    store.rotate_session("", &pending, None).await.unwrap();
    store.set_pending_totp("pending-hash", Some("SECRET")).await.unwrap();
    assert_eq!(store.session("pending-hash").await.unwrap().unwrap().pending_totp_secret.as_deref(), Some("SECRET"));
    let active = StaffSession { id_hash: "active-hash".into(), stage: SessionStage::Active, ..pending.clone() };
    store.record_login_success(user.id, Some("pending-hash"), &active, system(AuditAction::LoginSuccess, "staff_session")).await.unwrap();
    assert!(store.session("pending-hash").await.unwrap().is_none(), "the old id is gone");
    assert_eq!(store.session("active-hash").await.unwrap().unwrap().stage, SessionStage::Active);
    let creds = store.user_credentials("director@harbor.org").await.unwrap().unwrap();
    assert_eq!((creds.failed_logins, creds.locked_until), (0, None));
    store.touch_session("active-hash", now + Duration::minutes(5)).await.unwrap();
    assert_eq!(store.end_expired_sessions(now + Duration::minutes(1), now - Duration::hours(12)).await.unwrap(), 0);
    assert_eq!(store.end_expired_sessions(now + Duration::minutes(10), now - Duration::hours(12)).await.unwrap(), 1);

    // A personal token works until revoked.
    let token = store.create_token(user.id, "reporting", "tokenhash", system(AuditAction::TokenCreated, "api_token")).await.unwrap();
    let (t, owner) = store.token_owner("tokenhash", now).await.unwrap().expect("token works");
    assert_eq!((t.id, owner.id), (token.id, user.id));
    assert!(store.token_owner("other", now).await.unwrap().is_none());
    store.revoke_token(user.id, token.id, system(AuditAction::TokenRevoked, "api_token")).await.unwrap();
    assert!(store.token_owner("tokenhash", now).await.unwrap().is_none());
    assert_eq!(store.tokens(user.id).await.unwrap().len(), 1);

    // The audit log: searchable, append-only, and its chain verifies.
    let hits = store.audit_search(org.id, &AuditFilter { user: Some("story".into()), ..Default::default() }).await.unwrap();
    assert!(hits.iter().any(|e| e.event.action == "create" && e.event.resource_type == "site"));
    assert!(hits.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");
    let today = at.date_naive();
    let dated = AuditFilter { from: Some(today), to: Some(today), action: Some("login_failure".into()), ..Default::default() };
    assert_eq!(store.audit_search(org.id, &dated).await.unwrap().len(), 5);
    let ChainVerdict::Intact { entries } = store.audit_verify().await.unwrap() else { panic!("chain should verify") };
    assert!(entries > 10);

    let pool = store.pool();
    assert!(pool.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3").await.is_err(), "UPDATE refused");
    assert!(pool.execute("DELETE FROM audit_log WHERE seq = 3").await.is_err(), "DELETE refused");

    // Someone with database access drops the trigger and edits entry 3: the chain names it.
    let drop = if engine == "sqlite" { "DROP TRIGGER audit_log_no_update" } else { "DROP TRIGGER audit_log_no_update ON audit_log" };
    pool.execute(drop).await.unwrap();
    pool.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3").await.unwrap();
    match store.audit_verify().await.unwrap() {
        ChainVerdict::Broken { seq, .. } => assert_eq!(seq, 3),
        other => panic!("tampering not detected: {other:?}"),
    }
    store.close().await;
}

#[tokio::test]
async fn a_clinic_story_on_every_engine() {
    for engine in engines() {
        clinic_story(engine).await;
    }
}

async fn deletion_story(engine: &str) {
    let (store, _guard) = fresh_store(engine).await;
    for i in 0..6 {
        store.audit(system(AuditAction::Read, &format!("thing{i}"))).await.unwrap();
    }
    assert_eq!(store.audit_verify().await.unwrap(), ChainVerdict::Intact { entries: 6 });
    let drop = if engine == "sqlite" { "DROP TRIGGER audit_log_no_delete" } else { "DROP TRIGGER audit_log_no_delete ON audit_log" };
    store.pool().execute(drop).await.unwrap();
    store.pool().execute("DELETE FROM audit_log WHERE seq = 6").await.unwrap();
    assert!(matches!(store.audit_verify().await.unwrap(), ChainVerdict::Broken { seq: 6, .. }), "a deleted last entry is named");
    store.pool().execute("DELETE FROM audit_log WHERE seq = 2").await.unwrap();
    assert!(matches!(store.audit_verify().await.unwrap(), ChainVerdict::Broken { seq: 2, .. }));
    store.close().await;
}

#[tokio::test]
async fn deleting_audit_entries_is_detected_on_every_engine() {
    for engine in engines() {
        deletion_story(engine).await;
    }
}

#[tokio::test]
async fn concurrent_writers_keep_one_unbroken_chain() {
    for engine in engines() {
        let (store, _guard) = fresh_store(engine).await;
        let mut tasks = Vec::new();
        for i in 0..8 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                for j in 0..10 {
                    s.audit(system(AuditAction::Read, &format!("w{i}-{j}"))).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(store.audit_verify().await.unwrap(), ChainVerdict::Intact { entries: 80 }, "{engine}");
        store.close().await;
    }
}

/// Sixty-four staff open charts at the same moment: each read is audited before it is answered,
/// the entries share commits (group commit) while a write transaction appends its own entry in
/// between, and the chain has every entry exactly once, in one unbroken sequence.
#[tokio::test]
async fn a_burst_of_audited_reads_shares_commits_and_loses_no_entry() {
    for engine in engines() {
        let (store, _guard) = fresh_store(engine).await;
        let before = store.query_count();
        let mut tasks = Vec::new();
        for i in 0..64 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                for j in 0..3 {
                    s.audit(system(AuditAction::Read, &format!("chart-{i}-{j}"))).await.unwrap();
                }
            }));
        }
        let writer = store.clone();
        let site = tokio::spawn(async move {
            let org = writer
                .create_organization("Burst Clinic", &Slug::parse("burst").unwrap(), false, system(AuditAction::Create, "org"))
                .await
                .unwrap();
            writer.organization(org.id).await.unwrap()
        });
        for t in tasks {
            t.await.unwrap();
        }
        site.await.unwrap();
        let statements = store.query_count() - before;
        assert_eq!(store.audit_verify().await.unwrap(), ChainVerdict::Intact { entries: 193 }, "{engine}");
        // Without batching each entry costs three statements of its own.
        assert!(statements < 192 * 3, "{engine}: {statements} statements for 192 audited reads");
        store.close().await;
    }
}

/// The front desk opens page after page: the organization's sites are read once and then come
/// from the reference cache (each read checks the reference revision only), until the director
/// adds a site, which every next read shows.
#[tokio::test]
async fn reference_data_is_read_once_and_a_write_is_seen_at_once() {
    for engine in engines() {
        let (store, _guard) = fresh_store(engine).await;
        let org = store
            .create_organization("Cache Clinic", &Slug::parse("cache").unwrap(), false, system(AuditAction::Create, "org"))
            .await
            .unwrap();
        let first = NewSite::parse("Harbor Light Newark", "1 Market St", "Newark", "NJ", "07102", "America/New_York").unwrap();
        store.create_site(org.id, first, system(AuditAction::Create, "site").in_org(org.id)).await.unwrap();
        assert_eq!(store.sites(org.id).await.unwrap().len(), 1, "{engine}");
        let before = store.query_count();
        for _ in 0..5 {
            assert_eq!(store.sites(org.id).await.unwrap().len(), 1, "{engine}");
        }
        // Each read checks only the database's reference revision (one primary-key read, so a
        // change made by another app server is seen at once), never the list itself.
        assert_eq!(store.query_count() - before, 5, "{engine}: repeated reads come from the cache");
        let second = NewSite::parse("Harbor Light Camden", "2 Cooper St", "Camden", "NJ", "08102", "America/New_York").unwrap();
        store.create_site(org.id, second, system(AuditAction::Create, "site").in_org(org.id)).await.unwrap();
        assert_eq!(store.sites(org.id).await.unwrap().len(), 2, "{engine}: the write is seen by the next read");
        store.close().await;
    }
}

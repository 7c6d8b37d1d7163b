//! `openiop demo`: the same seed gives byte-identical data (checksum of the canonical export),
//! another seed gives other data, and the app reads what the generator wrote — plans, notes and
//! risk flags included. Small size only.
use chrono::NaiveDate;
use openiop_demo::{Size, checksum, generate};
use openiop_domain::Store;
use openiop_domain::audit::ChainVerdict;
use openiop_domain::measurement::care::MeasurementStore;
use openiop_domain::notes::{NoteKind, NoteStatus, NoteStore, similar_pairs};
use openiop_domain::patients::PatientStore;
use openiop_domain::plans::PlanStore;
use openiop_domain::store::AccountStore;
use openiop_store::testing::{engines, fresh_store};
use std::collections::{BTreeMap, HashSet};

#[tokio::test]
async fn same_seed_same_data_on_every_engine() {
    let today = NaiveDate::from_ymd_opt(2026, 3, 2).expect("date");
    for engine in engines() {
        let (a, _ga) = fresh_store(engine).await;
        let (b, _gb) = fresh_store(engine).await;
        let (c, _gc) = fresh_store(engine).await;
        let ra = generate(&a, 7, Size::Small, today, false).await.expect("generate a");
        generate(&b, 7, Size::Small, today, false).await.expect("generate b");
        generate(&c, 8, Size::Small, today, false).await.expect("generate c");
        let (ca, cb, cc) = (checksum(&a).await.expect("a"), checksum(&b).await.expect("b"), checksum(&c).await.expect("c"));
        assert_eq!(ca, cb, "{engine}: same seed, same export");
        assert_ne!(ca, cc, "{engine}: another seed, other data");
        // Every row's parents exist (PostgreSQL loads with the checks off for a superuser).
        assert_eq!(a.foreign_key_violations().await.expect("fk check"), Vec::<String>::new(), "{engine}: no orphan rows");
        // ... and the check finds one when there is (slipped in with the checks off).
        let orphan = match engine {
            "sqlite" => {
                "PRAGMA foreign_keys = OFF; INSERT INTO closures (id, organization_id, site_id, closed_on, reason) \
                 VALUES ('orphan', 'no-such-org', 'no-such-site', '2026-01-01', 'test'); PRAGMA foreign_keys = ON;"
            }
            _ => {
                "SET session_replication_role = replica; INSERT INTO closures (id, organization_id, site_id, closed_on, reason) \
                 VALUES ('orphan', 'no-such-org', 'no-such-site', '2026-01-01', 'test'); SET session_replication_role = origin;"
            }
        };
        openiop_store::testing::raw_sql(&c, orphan).await.expect("orphan inserted");
        let found = c.foreign_key_violations().await.expect("fk check");
        assert!(found.iter().any(|v| v.starts_with("closures")), "{engine}: {found:?}");
        let lines = a.canonical_export().await.expect("export");
        assert_eq!(lines, b.canonical_export().await.expect("export"), "{engine}: byte-identical exports");

        // The size is what the issue asks for, and the absence rate is realistic.
        assert_eq!(ra.sites, 1);
        assert_eq!(ra.programs, 1);
        assert!((30..=45).contains(&ra.patients), "{engine}: {} patients", ra.patients);
        let absent = lines.iter().filter(|l| l.starts_with("attendance\t") && l.contains("status=absent_")).count();
        let rate = absent as f64 / ra.attendance as f64;
        assert!((0.07..=0.18).contains(&rate), "{engine}: absence rate {rate}");

        // The app reads it through the ordinary store methods; the run wrote one audit entry.
        let org = a.organization_by_slug("lakeside-s7").await.expect("org").expect("demo org");
        assert!(org.is_demo);
        let open = a.open_episodes(org.id, None).await.expect("episodes");
        assert!(!open.is_empty());
        assert_eq!(a.audit_verify().await.expect("verify"), ChainVerdict::Intact { entries: 1 });

        // Plans, notes and risk flags, read back through the store methods the pages use.
        let ids: Vec<_> = open.iter().map(|e| e.id).collect();
        let plans = a.current_plans(org.id, &ids).await.expect("plans");
        assert!(plans.len() * 10 >= open.len() * 8, "{engine}: {} of {} open episodes have a signed plan", plans.len(), open.len());
        let mut statuses: BTreeMap<&str, usize> = BTreeMap::new();
        let mut groups: BTreeMap<String, Vec<_>> = BTreeMap::new();
        let mut open_flags = 0;
        for e in &open {
            let objectives: HashSet<_> = a
                .plan_versions(org.id, e.id)
                .await
                .expect("versions")
                .iter()
                .flat_map(|v| v.content.objectives().map(|(_, _, o)| o.id).collect::<Vec<_>>())
                .collect();
            for n in a.patient_notes(org.id, e.patient_id).await.expect("notes") {
                *statuses.entry(n.status().code()).or_default() += 1;
                assert!(n.objectives.iter().all(|o| objectives.contains(o)), "{engine}: a note cites objectives of the patient's plan");
                if n.kind == NoteKind::Group && !n.attendance_only {
                    let name = n.body.individualized.split(' ').next().unwrap_or_default().to_string();
                    groups.entry(n.session_id.to_string()).or_default().push((n.patient_id, name, n.body.individualized.clone()));
                }
            }
            for f in a.risk_flags(org.id, e.patient_id).await.expect("flags") {
                open_flags += usize::from(f.is_open());
            }
        }
        let status = |s: NoteStatus| statuses.get(s.code()).copied().unwrap_or(0);
        assert!(status(NoteStatus::Draft) >= 1, "{engine}: a few recent drafts: {statuses:?}");
        assert!(status(NoteStatus::PendingCosign) >= 1, "{engine}: an associate's notes await co-signature: {statuses:?}");
        let written: usize = statuses.values().sum();
        assert!(status(NoteStatus::Final) * 10 >= written * 8, "{engine}: most notes are final: {statuses:?}");
        assert!(ra.notes * 10 >= ra.attendance * 9, "{engine}: nearly every attendance has its note");
        let cleared_flags = lines.iter().filter(|l| l.starts_with("risk_flags\t") && !l.contains("cleared_at=\\N")).count();
        assert!((1..=2).contains(&open_flags) && cleared_flags >= 1, "{engine}: flags open {open_flags}, cleared {cleared_flags}");
        // Individualized sections differ within each group (the similarity check would not stop signing).
        let similar: usize = groups.values().map(|g| similar_pairs(g, 80).len()).sum();
        assert_eq!(similar, 0, "{engine}: near-identical individualized sections in {} groups", groups.len());

        // A second run refuses to generate over the first.
        assert!(generate(&a, 7, Size::Small, today, false).await.is_err());
    }
}

//! The patient pages, in-process on both engines: registration with the duplicate warning,
//! admission and the two level lines on the chart, a consent recorded then revoked (and still
//! shown), discharge and its summary as HTML and PDF, and scope answering 404.
use axum::http::StatusCode;
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Role, Scope};
use openiop_domain::programs::{NewProgram, ProgramForm};
use openiop_domain::tenancy::NewSite;
use openiop_web::testing::{Browser, Reply, TestApp, engines};

const PATIENT: &[(&str, &str)] = &[
    ("legal_first", "Rosa"),
    ("legal_last", "Delgado"),
    ("preferred_name", "Ro"),
    ("date_of_birth", "1984-05-17"),
    ("sex", "female"),
    ("phone", "973-555-0101"),
    ("state", "NJ"),
    ("city", "Newark"),
    ("postal_code", "07102"),
    ("availability", "mon 18:00-21:30\nwed 18:00-21:30"),
    ("delivery_preference", "in_person"),
];

/// The first `/episodes/{id}/…` address in a page.
fn episode_id(page: &Reply) -> String {
    let at = page.body.find("action=\"/episodes/").expect("an episode form") + "action=\"/episodes/".len();
    page.body[at..at + 36].to_string()
}

async fn post_with_csrf(b: &mut Browser<'_>, page: &str, path: &str, fields: &[(&str, &str)]) -> Reply {
    let csrf = b.get(page).await.input_value("csrf").expect("csrf");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    b.post(path, &all).await
}

async fn program(app: &TestApp, site: &str, name: &str) -> String {
    let form = ProgramForm {
        site_id: site.into(),
        name: name.into(),
        condition_focus: "substance_use".into(),
        population: "adult".into(),
        level_edition: "ASAM3".into(),
        level_code: "2.1".into(),
        delivery_modes: vec!["in_person".into()],
        ..Default::default()
    };
    let ev = AuditEvent::system("test", AuditAction::Create, "program", None).in_org(app.org.id);
    app.store.create_program(app.org.id, NewProgram::parse(&form).unwrap(), ev).await.unwrap().id.to_string()
}

async fn a_patient_from_registration_to_discharge_summary(engine: &'static str) {
    let app = TestApp::new(engine).await;
    let site = app.site.id.to_string();
    let pid = program(&app, &site, "Adult Evening IOP").await;
    app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await;
    let mut b = app.browser();
    b.sign_in_enrolling("director@harbor.org").await;

    // Navigation and search.
    let home = b.get("/").await;
    assert!(home.body.contains("href=\"/patients\"") && home.body.contains("href=\"/referrals\""), "nav links");
    let form = b.get("/patients/new").await;
    assert_eq!(form.status, StatusCode::OK);

    // A refused registration re-shows the form with the problem marked.
    let mut missing: Vec<(&str, &str)> = PATIENT.iter().filter(|(k, _)| *k != "legal_last").copied().collect();
    missing.push(("site_id", &site));
    let r = post_with_csrf(&mut b, "/patients/new", "/patients/new", &missing).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("id=\"reg-legal_last\"") && r.body.contains("aria-invalid=\"true\""), "field marked");
    assert!(r.body.contains("value=\"Rosa\""), "what was typed is kept");

    // Registered: the chart, with an MRN.
    let mut fields: Vec<(&str, &str)> = PATIENT.to_vec();
    fields.push(("site_id", &site));
    let r = post_with_csrf(&mut b, "/patients/new", "/patients/new", &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let chart_url = r.location().unwrap().to_string();
    let chart = b.get(&chart_url).await;
    assert_eq!(chart.status, StatusCode::OK);
    assert!(chart.body.contains("<h1>Ro Delgado</h1>"), "preferred name in the header");
    assert!(chart.body.contains("Consent missing"), "flag");
    let found = b.get("/patients?q=Delgado").await;
    assert!(found.body.contains(&chart_url), "search by name finds the chart");
    let found = b.get("/patients?q=1984-05-17").await;
    assert!(found.body.contains(&chart_url), "search by birth date finds the chart");

    // The same name and birth date: a warning, then a confirmed second record.
    let r = post_with_csrf(&mut b, "/patients/new", "/patients/new", &fields).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("already exists") && r.body.contains("role=\"alert\""), "duplicate warning");
    assert!(r.body.contains("name=\"allow_duplicate\""), "the different-person checkbox");
    let mut confirmed = fields.clone();
    confirmed.push(("allow_duplicate", "on"));
    let r = post_with_csrf(&mut b, "/patients/new", "/patients/new", &confirmed).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_ne!(r.location().unwrap(), chart_url);

    // Admit at 2.1 with the payer authorizing 2.1; a bad diagnosis is refused first.
    let admit = |dx: &'static str| {
        vec![
            ("program_id", pid.clone()),
            ("admitted_on", app.days_ago(10)),
            ("level_edition", "ASAM3".into()),
            ("level_code", "2.1".into()),
            ("authorized_level_code", "2.1".into()),
            ("diagnoses", dx.into()),
        ]
    };
    let bad = admit("F1");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = post_with_csrf(&mut b, &chart_url, &format!("{chart_url}/admit"), &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"admit-diagnoses\"") && r.body.contains("admit-diagnoses-error"), "{}", r.body);
    let good = admit("F10.20, F32.1");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = post_with_csrf(&mut b, &chart_url, &format!("{chart_url}/admit"), &good).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let chart = b.get(&chart_url).await;
    assert!(chart.body.contains("Day 11"), "day N of the episode");
    assert!(chart.body.contains("F10.20") && chart.body.contains("Alcohol dependence, uncomplicated"), "diagnoses");
    let eid = episode_id(&chart);

    // Step up clinically to 2.5: two lines that now differ.
    let yesterday = app.days_ago(1);
    let r = post_with_csrf(
        &mut b,
        &chart_url,
        &format!("/episodes/{eid}/level"),
        &[
            ("line", "clinical"),
            ("edition", "ASAM3"),
            ("level_code", "2.5"),
            ("from", &yesterday),
            ("reason", "Relapse; needs daily structure"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let chart = b.get(&chart_url).await;
    assert!(chart.body.contains("Levels differ") && chart.body.contains("Re-assessment due"), "flags");
    let clinical = &chart.body[chart.body.find("id=\"line-clinical\"").unwrap()..chart.body.find("id=\"line-authorized\"").unwrap()];
    assert!(clinical.contains("ASAM 2.1") && clinical.contains("ASAM 2.5") && clinical.contains("Relapse; needs daily structure"));
    let authorized = &chart.body[chart.body.find("id=\"line-authorized\"").unwrap()..];
    assert!(authorized.contains("ASAM 2.1") && !authorized[..authorized.find("</table>").unwrap()].contains("ASAM 2.5"));
    // A level change without a reason is refused on its form.
    let r = post_with_csrf(
        &mut b,
        &chart_url,
        &format!("/episodes/{eid}/level"),
        &[("line", "authorized"), ("edition", "ASAM3"), ("level_code", "2.5"), ("from", &yesterday), ("reason", "")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("level-reason-error"), "{}", r.body);
    // Re-assessment recorded.
    let r = post_with_csrf(&mut b, &chart_url, &format!("/episodes/{eid}/reassessment"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!b.get(&chart_url).await.body.contains("Re-assessment due"));

    // A family member, a coverage, and a consent without the acknowledgements is refused.
    let r =
        post_with_csrf(&mut b, &chart_url, &format!("{chart_url}/collaterals"), &[("name", "Luis Delgado"), ("relationship", "Brother")])
            .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = post_with_csrf(&mut b, &chart_url, &format!("{chart_url}/coverages"), &[("payer", "Aetna"), ("member_id", "W123")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let today = app.days_ago(0);
    let consent = [
        ("discloser", "Harbor Light"),
        ("information_amount", "For this episode of care"),
        ("signature_method", "paper"),
        ("recipients", "My treating providers and health plans"),
        ("purpose", "Treatment and payment"),
        ("information", "Diagnosis and attendance"),
        ("expiry_event", "One year after discharge"),
        ("signed_by", "Rosa Delgado"),
        ("signed_on", today.as_str()),
    ];
    let r = post_with_csrf(&mut b, &chart_url, &format!("{chart_url}/consents"), &consent).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("consent-redisclosure_notice_given-error"), "acknowledgement required");
    let mut full = consent.to_vec();
    full.extend([("revocation_explained", "on"), ("refusal_consequences_explained", "on"), ("redisclosure_notice_given", "on")]);
    let r = post_with_csrf(&mut b, &chart_url, &format!("{chart_url}/consents"), &full).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let chart = b.get(&chart_url).await;
    assert!(chart.body.contains("in force") && !chart.body.contains("Consent missing"));
    assert!(chart.body.contains("Luis Delgado") && chart.body.contains("W123"));
    let at = chart.body.find("/consents/").unwrap() + "/consents/".len();
    let cid = chart.body[at..at + 36].to_string();
    let revoke = format!("{chart_url}/consents/{cid}/revoke");
    let r = post_with_csrf(&mut b, &chart_url, &revoke, &[("revoked_by", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("revoke-1-revoked_by-error"), "who revoked is required");
    let r = post_with_csrf(&mut b, &chart_url, &revoke, &[("revoked_by", "Rosa Delgado"), ("note", "Letter dated today")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let chart = b.get(&chart_url).await;
    assert!(chart.body.contains("Revoked on") && chart.body.contains("Letter dated today"), "the revoked consent stays visible");
    assert!(chart.body.contains("Diagnosis and attendance") && chart.body.contains("Consent missing"));

    // Discharge: completed needs an aftercare plan.
    let r = post_with_csrf(&mut b, &chart_url, &format!("/episodes/{eid}/discharge"), &[("kind", "completed"), ("date", &today)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("discharge-appointments-error"));
    let r = post_with_csrf(
        &mut b,
        &chart_url,
        &format!("/episodes/{eid}/discharge"),
        &[
            ("kind", "completed"),
            ("date", &today),
            ("reason", "Goals met"),
            ("next_level_code", "1"),
            ("next_provider", "Harbor Outpatient (Dr. Lee)"),
            ("appointments", "Weekly therapy, Tuesdays 17:00"),
            ("relapse_prevention", "Call sponsor; meeting the same day"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let chart = b.get(&chart_url).await;
    assert!(chart.body.contains("No open episode") && chart.body.contains("Completed treatment"));
    let mrn = chart.body.split("<dt>MRN</dt><dd>").nth(1).and_then(|s| s.split('<').next()).unwrap().to_string();

    let summary = b.get(&format!("/episodes/{eid}/discharge-summary")).await;
    assert_eq!(summary.status, StatusCode::OK);
    for text in [
        &mrn,
        "Adult Evening IOP",
        "Length of stay",
        "11 days",
        "Weekly therapy, Tuesdays 17:00",
        "Harbor Outpatient (Dr. Lee)",
        "Not recorded",
        "F10.20",
    ] {
        assert!(summary.body.contains(text), "summary shows {text:?}");
    }
    let pdf = b.get(&format!("/episodes/{eid}/discharge-summary.pdf")).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.headers.get("content-type").unwrap(), "application/pdf");
    assert!(pdf.body.starts_with("%PDF-1.4") && pdf.body.trim_end().ends_with("%%EOF"));
    assert!(pdf.body.contains(&mrn), "the PDF carries the MRN");
}

#[tokio::test]
async fn a_patient_from_registration_to_discharge_summary_on_both_engines() {
    for engine in engines() {
        a_patient_from_registration_to_discharge_summary(engine).await;
    }
}

async fn referral_accepted_without_retyping_and_scope(engine: &'static str) {
    let app = TestApp::new(engine).await;
    let site_a = app.site.id.to_string();
    let site_b = NewSite::parse("Harbor Light Paterson", "2 Main St", "Paterson", "NJ", "07505", "America/New_York").unwrap();
    let ev = AuditEvent::system("test", AuditAction::Create, "site", None).in_org(app.org.id);
    let site_b = app.store.create_site(app.org.id, site_b, ev).await.unwrap().id.to_string();
    let pid_b = program(&app, &site_b, "Paterson Evening IOP").await;
    app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await;
    app.staff("lena@harbor.org", &[Role::Clinician], Scope::Units { sites: vec![site_a.parse().unwrap()], programs: vec![] }).await;
    app.staff("desk@harbor.org", &[Role::FrontDesk], Scope::Organization).await;

    // Front desk records a residential step-down referral at site B.
    let mut desk = app.browser();
    desk.sign_in_enrolling("desk@harbor.org").await;
    let mut fields: Vec<(&str, &str)> = PATIENT.to_vec();
    fields.extend([
        ("site_id", site_b.as_str()),
        ("program_id", pid_b.as_str()),
        ("source", "residential_step_down"),
        ("from_level_edition", "ASAM3"),
        ("from_level_code", "3.5"),
        ("reason", "Completing residential care"),
    ]);
    let r = post_with_csrf(&mut desk, "/referrals", "/referrals", &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let referral_url = r.location().unwrap().to_string();
    let page = desk.get(&referral_url).await;
    assert!(page.body.contains("ASAM 3.5") && page.body.contains("Completing residential care"));
    assert!(!page.body.contains("Accept and admit"), "front desk cannot admit");
    let list = desk.get("/referrals").await;
    assert!(list.body.contains(&referral_url));
    // Declining needs a reason.
    let r = post_with_csrf(&mut desk, &referral_url, &format!("{referral_url}/status"), &[("status", "declined"), ("reason", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("status-reason-error"), "{}", r.body);

    // The director accepts and admits it.
    let mut dir = app.browser();
    dir.sign_in_enrolling("director@harbor.org").await;
    let r = post_with_csrf(
        &mut dir,
        &referral_url,
        &format!("{referral_url}/accept"),
        &[
            ("program_id", &pid_b),
            ("level_edition", "ASAM3"),
            ("level_code", "2.1"),
            ("authorized_level_code", "2.1"),
            ("diagnoses", "F10.20"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let chart_url = r.location().unwrap().to_string();
    let chart = dir.get(&chart_url).await;
    assert!(chart.body.contains("step-down from ASAM 3.5"), "the clinical line remembers the residential stay");
    assert!(chart.body.contains("Paterson Evening IOP"));

    // A clinician scoped to site A gets 404 on this site-B chart and its forms.
    let mut lena = app.browser();
    lena.sign_in_enrolling("lena@harbor.org").await;
    assert_eq!(lena.get(&chart_url).await.status, StatusCode::NOT_FOUND);
    assert_eq!(lena.get(&referral_url).await.status, StatusCode::NOT_FOUND);
    let csrf = lena.get("/patients").await.input_value("csrf").unwrap();
    let r = lena.post(&format!("{chart_url}/coverages"), &[("csrf", &csrf), ("payer", "Aetna"), ("member_id", "1")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!lena.get("/patients?q=Delgado").await.body.contains(&chart_url), "search stays within scope");
    // And a form without the CSRF token is refused.
    let r = dir.post(&format!("{chart_url}/coverages"), &[("csrf", "nope"), ("payer", "Aetna"), ("member_id", "1")]).await;
    assert!(r.status.is_client_error(), "{}", r.status);
}

#[tokio::test]
async fn a_referral_is_accepted_without_retyping_and_scope_hides_other_sites() {
    for engine in engines() {
        referral_accepted_without_retyping_and_scope(engine).await;
    }
}

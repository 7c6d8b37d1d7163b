//! Exports that disclose SUD records, on both engines. The discharge summary PDF prints any
//! Unicode name — Vietnamese, Latin with diaeresis, Chinese, Cyrillic, Arabic — as checked by an
//! independent reader (poppler's `pdftotext`; `pdffonts` shows every font embedded as a subset).
//! The 42 CFR §2.32 notice is on the HTML summary, on the PDF's first page and on the first line
//! of the outcomes CSV, which Python's `csv` module still parses. The checkers are shown to
//! fail on a broken PDF and on a PDF that lost the name's letters.
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use openiop_domain::auth::{Role, Scope};
use openiop_domain::part2::{NOTICE, NOTICE_TITLE, REDISCLOSURE_STATEMENT};
use openiop_web::pdf::Document;
use openiop_web::testing::{Browser, TestApp, engines};
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};
use tower::ServiceExt;

/// Legal first and last names, printed "first last" on the summary.
const NAMES: &[(&str, &str)] = &[("Nguyễn Thị", "Hương"), ("Zoë", "Brontë"), ("小龙", "李"), ("Пётр", "Чайковский"), ("محمد", "عبد الله")];

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether poppler's tools can run here; under CI they must.
fn poppler() -> bool {
    if Command::new("pdftotext").arg("-v").output().is_ok_and(|o| o.status.success()) {
        return true;
    }
    assert!(!ci(), "CI=true but pdftotext is missing: scripts/setup installs Debian poppler-utils");
    eprintln!("SKIPPED: pdftotext not installed (Debian poppler-utils; scripts/setup installs it)");
    false
}

/// Runs a poppler tool on a PDF given as bytes: its standard output, or why it failed.
fn poppler_tool(tool: &str, args: &[&str], pdf: &[u8]) -> Result<String, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).map_err(|e| e.to_string())?;
    let path = path.to_str().ok_or("path")?;
    let mut all: Vec<&str> = args.to_vec();
    all.push(path);
    if tool == "pdftotext" {
        all.push("-");
    }
    let out = Command::new(tool).args(&all).output().map_err(|e| format!("{tool}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{tool} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("{tool}: not UTF-8: {e}"))
}

/// The text of a PDF (or of its first page) as pdftotext reads it, with bidi embedding marks
/// (which it puts around right-to-left text) removed and all whitespace runs made one space.
fn pdf_text(pdf: &[u8], first_page_only: bool) -> Result<String, String> {
    let args: &[&str] = if first_page_only { &["-enc", "UTF-8", "-f", "1", "-l", "1"] } else { &["-enc", "UTF-8"] };
    let text = poppler_tool("pdftotext", args, pdf)?;
    let text: String = text.chars().filter(|c| !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}')).collect();
    Ok(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Every font in the PDF is embedded, as a subset, with a Unicode map (pdffonts' table).
fn fonts_embedded_as_subsets(pdf: &[u8]) -> Result<usize, String> {
    let table = poppler_tool("pdffonts", &[], pdf)?;
    let rows: Vec<&str> = table.lines().skip(2).filter(|l| !l.trim().is_empty()).collect();
    for row in &rows {
        // The columns from the right: object id, generation, uni, sub, emb.
        let cols: Vec<&str> = row.split_whitespace().collect();
        let n = cols.len();
        if n < 6 || cols[n - 5] != "yes" || cols[n - 4] != "yes" || cols[n - 3] != "yes" {
            return Err(format!("a font not embedded as a subset with a Unicode map: {row}"));
        }
    }
    if rows.is_empty() { Err("no fonts".into()) } else { Ok(rows.len()) }
}

/// The same text with all whitespace runs as one space.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parses CSV text with Python's csv module: the rows, or why it failed.
fn python_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let script = "import csv, io, json, sys\n\
                  rows = list(csv.reader(io.TextIOWrapper(sys.stdin.buffer, encoding='utf-8', newline=''), strict=True))\n\
                  print(json.dumps(rows))";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("python3: {e}"))?;
    child.stdin.take().ok_or("stdin")?.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

/// A GET with the browser's session, the body kept as bytes (the test client's reply is text).
async fn get_bytes(b: &Browser<'_>, path: &str) -> (StatusCode, String, Vec<u8>) {
    let cookie = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let req = Request::builder().uri(path).header(header::COOKIE, cookie).body(Body::empty()).expect("request");
    let res = b.app.router.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let content_type = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024).await.expect("body");
    (status, content_type, bytes.to_vec())
}

async fn ok(app: &TestApp, method: Method, path: &str, token: &str, body: Value) -> Value {
    let r = app.api(method.clone(), path, Some(token), Some(body)).await;
    assert!(r.status.is_success(), "{method} {path}: {} {}", r.status, r.body);
    r.json()
}

/// A patient registered, admitted 20 days ago and discharged today: the episode id.
async fn discharged(app: &TestApp, token: &str, program: &str, first: &str, last: &str) -> String {
    let patient = json!({"site_id": app.site.id.to_string(), "legal_first": first, "legal_last": last,
        "date_of_birth": "1988-02-29", "sex": "female", "state": "NJ", "city": "Newark", "postal_code": "07102",
        "phone": "973-555-0142", "availability": "mon 18:00-21:30", "delivery_preference": "in_person"});
    let p = ok(app, Method::POST, "/api/v1/patients", token, patient).await;
    let pid = p["id"].as_str().expect("patient id");
    let admission = json!({"program_id": program, "diagnoses": "F10.20", "admitted_on": app.days_ago(20)});
    let e = ok(app, Method::POST, &format!("/api/v1/patients/{pid}/episodes"), token, admission).await;
    let eid = e["id"].as_str().expect("episode id").to_string();
    let discharge = json!({"date": app.days_ago(0), "kind": "administrative", "reason": "Moved away"});
    ok(app, Method::POST, &format!("/api/v1/episodes/{eid}/discharge"), token, discharge).await;
    eid
}

async fn summaries_print_every_name_and_carry_the_notice(engine: &'static str) {
    let app = TestApp::new(engine).await;
    let director = app.staff("director@harbor.org", &[Role::ClinicalDirector], Scope::Organization).await;
    let token = app.token(&director).await;
    let program = ok(
        &app,
        Method::POST,
        "/api/v1/programs",
        &token,
        json!({"site_id": app.site.id.to_string(), "name": "Adult Evening IOP",
            "condition_focus": "substance_use", "population": "adult", "delivery_modes": ["in_person"]}),
    )
    .await;
    let program = program["id"].as_str().expect("program id").to_string();
    let mut b = app.browser();
    b.sign_in_enrolling("director@harbor.org").await;
    let notice = one_line(NOTICE);

    for &(first, last) in NAMES {
        let name = format!("{first} {last}");
        if !openiop_web::pdf::printable(&name) {
            assert!(!ci(), "CI=true but no font prints {name:?}: scripts/setup installs Debian fonts-noto-cjk");
            eprintln!("SKIPPED {name:?}: no font for it here (Debian fonts-noto-cjk; scripts/setup installs it)");
            continue;
        }
        let eid = discharged(&app, &token, &program, first, last).await;

        // The page: the name, and the notice above the summary's first section.
        let page = b.get(&format!("/episodes/{eid}/discharge-summary")).await;
        assert_eq!(page.status, StatusCode::OK, "{engine}: {}", page.body);
        let html = page.body.replace("&#39;", "'").replace("&#x27;", "'");
        assert!(html.contains(&format!("<h1>Discharge summary: {name}</h1>")), "{engine}: the page names {name:?}");
        let aside = html.find("id=\"part2-notice\"").expect("the notice on the page");
        assert!(aside < html.find("Patient and episode").expect("first section"), "the notice comes first");
        assert!(html[aside..].contains(NOTICE_TITLE) && html[aside..].contains(NOTICE), "{engine}: the whole notice");

        // The PDF: the exact name as an independent reader extracts it, the notice on page 1.
        let (status, content_type, pdf) = get_bytes(&b, &format!("/episodes/{eid}/discharge-summary.pdf")).await;
        assert_eq!((status, content_type.as_str()), (StatusCode::OK, "application/pdf"), "{engine}");
        if !poppler() {
            continue;
        }
        let text = pdf_text(&pdf, false).expect("pdftotext reads the summary");
        assert!(text.contains(&format!("Discharge summary: {name}")), "{engine}: the title prints {name:?}: {text}");
        assert!(text.contains(&format!("Patient {name}")), "{engine}: the Patient field prints {name:?}: {text}");
        let page1 = pdf_text(&pdf, true).expect("pdftotext reads page 1");
        assert!(page1.contains(&format!("{NOTICE_TITLE} {notice}")), "{engine}: the notice on page 1: {page1}");
        assert!(page1.find(NOTICE_TITLE) < page1.find("Patient and episode"), "the notice before the first section");
        let fonts = fonts_embedded_as_subsets(&pdf).expect("fonts embedded");
        assert!(fonts >= 2, "regular and bold: {fonts}");
    }

    // The outcomes CSV, page and API: the notice as a first one-cell row, then the header.
    let page_csv = b.get("/outcomes.csv").await;
    let api_csv = app.api(Method::GET, "/api/v1/program-outcomes.csv", Some(&token), None).await;
    for csv in [page_csv, api_csv] {
        assert_eq!(csv.status, StatusCode::OK, "{engine}: {}", csv.body);
        assert!(csv.headers[header::CONTENT_TYPE].to_str().unwrap_or_default().starts_with("text/csv"));
        let rows = python_csv(&csv.body).expect("Python's csv module parses the export");
        assert_eq!(rows[0], vec![format!("{NOTICE_TITLE}. {NOTICE}")], "{engine}: the notice, one cell");
        assert!(rows[0][0].contains(REDISCLOSURE_STATEMENT));
        assert_eq!(rows[1][..3], ["instrument", "name", "baseline_mean"], "{engine}: then the header");
        assert!(rows[2..].iter().all(|r| r.len() == rows[1].len()), "every data row as wide as the header");
    }
}

#[tokio::test]
async fn summaries_print_every_name_and_carry_the_notice_on_both_engines() {
    for engine in engines() {
        summaries_print_every_name_and_carry_the_notice(engine).await;
    }
}

/// The checkers catch what they should: a file that is not a PDF, a PDF whose name lost its
/// letters (what a Latin-1-only writer prints), a CSV whose notice row breaks the quoting.
#[test]
fn the_checkers_fail_on_broken_or_wrong_files() {
    // CSV: a stray quote in the notice row is refused by the strict reader.
    assert!(python_csv("\"notice \"broken\" row\r\ninstrument,name\r\n").is_err(), "strict CSV parsing");
    let rows = python_csv(&format!("\"{NOTICE}\"\r\ninstrument,name\r\n")).expect("a good CSV");
    assert_eq!(rows[0], [NOTICE]);

    if !poppler() {
        return;
    }
    assert!(pdf_text(b"%PDF-1.4\nnot really a PDF\n%%EOF\n", false).is_err(), "pdftotext refuses a broken file");
    assert!(fonts_embedded_as_subsets(b"%PDF-1.4\n%%EOF\n").is_err(), "pdffonts refuses a broken file");

    let mut doc = Document::new();
    doc.title("Discharge summary: Nguy?n Th? H??ng");
    doc.field("Patient", "Zo? Bront?");
    let wrong = doc.finish().expect("a PDF");
    let text = pdf_text(&wrong, false).expect("a readable PDF");
    assert!(text.contains("Discharge summary: Nguy?n"), "the reader sees what is printed: {text}");
    for name in ["Nguyễn Thị Hương", "Zoë Brontë"] {
        assert!(!text.contains(name), "a mangled name is not mistaken for {name:?}");
    }

    // And the same document written properly passes the same checks.
    let mut doc = Document::new();
    doc.title("Discharge summary: Nguyễn Thị Hương");
    doc.field("Patient", "Пётр Чайковский · محمد عبد الله");
    let good = doc.finish().expect("a PDF");
    let text = pdf_text(&good, false).expect("a readable PDF");
    assert!(text.contains("Nguyễn Thị Hương") && text.contains("Пётр Чайковский") && text.contains("محمد عبد الله"), "{text}");
    assert!(fonts_embedded_as_subsets(&good).is_ok());
}

/// `serve --demo` has a discharged patient whose name needs more than Latin-1 (the front desk
/// corrected "Nguyen" to "Nguyễn"): her discharge summary prints the name in the PDF.
#[tokio::test]
async fn the_demo_prints_a_summary_for_a_name_beyond_latin_1() {
    let app = TestApp::with_config("sqlite", |c| c.demo = true).await;
    let org = app.store.organization_by_slug(&openiop_demo::demo_slug()).await.unwrap().expect("the demo");
    let found = app.store.search_patients(org.id, "nguyễn", None).await.unwrap();
    let patient = found.iter().find(|p| p.name.ends_with("Nguyễn")).expect("a patient named Nguyễn");
    let episodes = app.store.episodes(org.id, patient.id).await.unwrap();
    let done = episodes.iter().find(|e| e.discharge.is_some()).expect("her discharged episode");
    let full = app.store.patient(org.id, patient.id).await.unwrap();
    let name = full.details.display_name();
    assert!(name.chars().any(|c| c as u32 > 0xff), "beyond Latin-1: {name}");

    let mut b = app.browser();
    b.sign_in(&format!("director@{}.example.org", openiop_demo::demo_slug()), openiop_demo::DEMO_PASSWORD).await;
    let (status, content_type, pdf) = get_bytes(&b, &format!("/episodes/{}/discharge-summary.pdf", done.id)).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "application/pdf"));
    if !poppler() {
        return;
    }
    let text = pdf_text(&pdf, false).expect("pdftotext reads the summary");
    assert!(text.contains(&format!("Discharge summary: {name}")), "the title prints {name:?}: {text}");
}

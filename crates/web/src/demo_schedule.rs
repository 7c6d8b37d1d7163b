//! The demo's schedule history: the tracks' sessions for the last four weeks, this week and the
//! next, generated through the normal validated path, with attendance for the sessions that are
//! over (about one absence in eight, deterministic), so the hours ledger shows a living program.
use crate::state::AppState;
use chrono::Duration;
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::Ctx;
use openiop_domain::schedule::{Attendance, AttendanceMode, AttendanceStatus, SessionFilter, Week};
use openiop_domain::{DomainError, Result};
use sha2::{Digest, Sha256};

/// A stable number in 0..100 for a session and a patient (no randomness: the demo is the same
/// every time it is built on the same day).
fn roll(a: &str, b: &str) -> u8 {
    let d = Sha256::digest(format!("{a}/{b}").as_bytes());
    d[0] % 100
}

pub async fn ensure_demo_schedule(state: &AppState) -> Result<()> {
    let Some(org) = state.store.organization_by_slug(crate::demo::DEMO_SLUG).await? else { return Ok(()) };
    let now = state.now();
    let today = state.today();
    let this_week = Week::of(today);
    let from_week = Week::of(today - Duration::days(28));
    let sites = state.store.sites(org.id).await?;
    let Some(site) = sites.first() else { return Ok(()) };
    let (start, _) = from_week.bounds(site.time_zone.0);
    let (_, end) = this_week.next().bounds(site.time_zone.0);
    if !state.store.sessions_between(org.id, start, end, &SessionFilter::default()).await?.is_empty() {
        return Ok(());
    }
    let director = state.store.user_credentials("director@demo.openiop.org").await?.ok_or(DomainError::NotFound("demo director"))?.user;
    let ctx = Ctx::new(crate::session::actor_of(director.clone()), Default::default());
    for track in state.store.tracks(org.id, None).await? {
        let first = from_week.monday();
        let last = this_week.next().monday() + Duration::days(6);
        if let Err(e) = crate::usecases::schedule::generate(state, &ctx, track.id, first, last).await {
            tracing::warn!(track = %track.id, error = %e, "demo: a track's sessions were not generated");
        }
    }
    let sessions = state.store.sessions_between(org.id, start, end, &SessionFilter::default()).await?;
    let mut records = Vec::new();
    for s in sessions.iter().filter(|s| s.ends_at < now) {
        for p in &s.participants {
            let r = roll(&s.id.to_string(), &p.to_string());
            let (status, minutes) = match r {
                0..=7 => (AttendanceStatus::AbsentUnexcused, 0),
                8..=11 => (AttendanceStatus::AbsentExcused, 0),
                12..=15 => (AttendanceStatus::Late, (s.minutes() as u32).saturating_sub(20)),
                _ => (AttendanceStatus::Present, s.minutes() as u32),
            };
            records.push(Attendance {
                session_id: s.id,
                patient_id: *p,
                version: 1,
                status,
                minutes,
                mode: if s.is_virtual { AttendanceMode::Virtual } else { AttendanceMode::InPerson },
                recorded_by: director.id,
                recorded_at: s.ends_at,
                note: String::new(),
            });
        }
    }
    let audit =
        [AuditEvent::system("demo", AuditAction::Create, "attendance", None).in_org(org.id).detail(&format!("records={}", records.len()))];
    state.store.record_attendance(org.id, &records, &audit).await
}

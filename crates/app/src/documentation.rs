//! Treatment plans, session notes, group notes and the documentation home. Each use case
//! checks role and scope, audits, applies the domain rule and calls the store once to write.
use crate::patients::episode_for;
use crate::schedule::session_for_in;
use crate::{App, Work};
use chrono::{DateTime, Duration, Utc};
use openiop_domain::audit::{AuditAction, AuditEvent};
use openiop_domain::auth::{Action, Ctx};
use openiop_domain::ids::UserId;
use openiop_domain::notes::*;
use openiop_domain::patients::{Episode, EpisodeId, Patient, PatientId};
use openiop_domain::plans::*;
use openiop_domain::programs::{Program, StaffProfile};
use openiop_domain::schedule::{Attendance, Session, SessionFilter, SessionId, SessionStatus, current_attendance};
use openiop_domain::store::RecordKind;
use openiop_domain::{DomainError, Result};
use std::collections::HashMap;

fn event(
    ctx: &Ctx,
    action_for_role: Action,
    action: AuditAction,
    what: &str,
    patient: Option<PatientId>,
    id: Option<String>,
) -> AuditEvent {
    let mut e = AuditEvent::by(ctx, ctx.actor.acting_role(action_for_role), action, what, id);
    e.patient_id = patient.map(|p| p.to_string());
    e
}

// ---- Settings ----

pub async fn settings(app: &App, ctx: &Ctx) -> Result<NoteSettings> {
    reading!(app, |w| {
        ctx.actor.require(Action::ViewClinicalRecord).or_else(|_| ctx.actor.require(Action::ManagePrograms))?;
        w.db().note_settings(ctx.org()).await
    })
}

pub async fn save_settings(app: &App, ctx: &Ctx, form: &SettingsForm) -> Result<NoteSettings> {
    writing!(app, |w| {
        crate::require_organization_wide(ctx, Action::ManagePrograms)?;
        let current = w.db().note_settings(ctx.org()).await?;
        let s = NoteSettings::parse(form, &current)?;
        let ev = event(ctx, Action::ManagePrograms, AuditAction::Update, "documentation_settings", None, None);
        w.db().save_note_settings(ctx.org(), &s, ev).await?;
        Ok(s)
    })
}

// ---- Treatment plans ----

/// An episode's plan: every version, the one in force, and when the next review is due.
pub struct PlanView {
    pub episode: Episode,
    pub patient: Patient,
    pub versions: Vec<PlanVersion>,
    pub review: ReviewDue,
}

impl PlanView {
    pub fn current(&self) -> Option<&PlanVersion> {
        current_version(&self.versions)
    }

    pub fn draft(&self) -> Option<&PlanVersion> {
        self.versions.iter().find(|v| v.clinician.is_none())
    }
}

/// When the episode's plan is next due for review (the chart calls this for its flag; the
/// chart's own read is audited by the chart).
pub async fn plan_review(app: &App, ctx: &Ctx, episode: &Episode) -> Result<ReviewDue> {
    reading!(app, |w| {
        ctx.actor.require(Action::ViewClinicalRecord)?;
        let org = ctx.org();
        let program = w.db().program(org, episode.program_id).await?;
        let versions = w.db().plan_versions(org, episode.id).await?;
        let patient = w.db().patient(org, episode.patient_id).await?;
        let settings = w.db().note_settings(org).await?;
        let medicare = is_medicare(&settings.review, &patient.coverages);
        let today = w.today_at(org, episode.site_id).await?;
        Ok(review_due(&settings.review, program.plan_review_days, episode, current_version(&versions), medicare, today))
    })
}

pub async fn plan(app: &App, ctx: &Ctx, episode_id: EpisodeId) -> Result<PlanView> {
    reading!(app, |w| {
        let episode = episode_for(&w, ctx, episode_id, Action::ViewClinicalRecord).await?;
        let org = ctx.org();
        let versions = w.db().plan_versions(org, episode_id).await?;
        let patient = w.db().patient(org, episode.patient_id).await?;
        let program = w.db().program(org, episode.program_id).await?;
        let settings = w.db().note_settings(org).await?;
        let medicare = is_medicare(&settings.review, &patient.coverages);
        let today = w.today_at(org, episode.site_id).await?;
        let review = review_due(&settings.review, program.plan_review_days, &episode, current_version(&versions), medicare, today);
        let ev = event(
            ctx,
            Action::ViewClinicalRecord,
            AuditAction::Read,
            "treatment_plan",
            Some(episode.patient_id),
            Some(episode_id.to_string()),
        );
        w.db().audit(ev).await?;
        Ok(PlanView { episode, patient, versions, review })
    })
}

async fn plan_refs(w: &Work<'_>, ctx: &Ctx) -> Result<(Vec<openiop_domain::programs::ServiceTypeId>, Vec<UserId>)> {
    let services = w.db().service_types(ctx.org()).await?.into_iter().map(|s| s.id).collect();
    let staff = w.db().users(ctx.org()).await?.into_iter().map(|u| u.id).collect();
    Ok((services, staff))
}

pub async fn create_plan_version(app: &App, ctx: &Ctx, episode_id: EpisodeId, form: &PlanForm) -> Result<PlanVersion> {
    writing!(app, |w| {
        let episode = episode_for(&w, ctx, episode_id, Action::WriteClinicalRecord).await?;
        episode.require_open()?;
        let (services, staff) = plan_refs(&w, ctx).await?;
        let v = NewPlanVersion::parse(form, &PlanRefs { episode: &episode, service_types: &services, staff: &staff })?;
        let ev = event(
            ctx,
            Action::WriteClinicalRecord,
            AuditAction::Create,
            "treatment_plan",
            Some(episode.patient_id),
            Some(episode_id.to_string()),
        )
        .detail(&v.reason.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ' ').take(40).collect::<String>());
        w.db().create_plan_version(ctx.org(), &episode, v, ctx.actor.user_id, ev).await
    })
}

/// A plan version the actor may act on, with its episode.
pub async fn plan_version_for(app: &App, ctx: &Ctx, id: PlanVersionId, action: Action) -> Result<(PlanVersion, Episode)> {
    reading!(app, |w| plan_version_for_in(&w, ctx, id, action).await)
}

pub(crate) async fn plan_version_for_in(w: &Work<'_>, ctx: &Ctx, id: PlanVersionId, action: Action) -> Result<(PlanVersion, Episode)> {
    ctx.actor.require(action)?;
    let v = w.found(ctx, action, RecordKind::PlanVersion, &id.to_string(), w.db().plan_version(ctx.org(), id).await).await?;
    let e = episode_for(w, ctx, v.episode_id, action).await.map_err(|_| DomainError::NotFound("plan"))?;
    Ok((v, e))
}

pub async fn read_plan_version(app: &App, ctx: &Ctx, id: PlanVersionId) -> Result<PlanVersion> {
    reading!(app, |w| {
        let (v, _) = plan_version_for_in(&w, ctx, id, Action::ViewClinicalRecord).await?;
        let ev =
            event(ctx, Action::ViewClinicalRecord, AuditAction::Read, "treatment_plan_version", Some(v.patient_id), Some(id.to_string()));
        w.db().audit(ev).await?;
        Ok(v)
    })
}

pub async fn update_plan_draft(app: &App, ctx: &Ctx, id: PlanVersionId, form: &PlanForm) -> Result<PlanVersion> {
    writing!(app, |w| {
        let (v, episode) = plan_version_for_in(&w, ctx, id, Action::WriteClinicalRecord).await?;
        v.require_draft()?;
        let (services, staff) = plan_refs(&w, ctx).await?;
        let parsed = NewPlanVersion::parse(form, &PlanRefs { episode: &episode, service_types: &services, staff: &staff })?;
        let ev = event(
            ctx,
            Action::WriteClinicalRecord,
            AuditAction::Update,
            "treatment_plan_version",
            Some(v.patient_id),
            Some(id.to_string()),
        );
        w.db().update_plan_draft(ctx.org(), id, parsed, ev).await?;
        w.db().plan_version(ctx.org(), id).await
    })
}

async fn profile_of(w: &Work<'_>, ctx: &Ctx, user: UserId) -> Result<Option<StaffProfile>> {
    Ok(w.db().staff_profiles(ctx.org()).await?.into_iter().find(|p| p.user_id == user))
}

/// The supervisor who must co-sign the actor's work, if any (associates and supervised staff).
async fn cosigner_for(w: &Work<'_>, ctx: &Ctx) -> Result<Option<UserId>> {
    let profile = profile_of(w, ctx, ctx.actor.user_id).await?;
    let today = crate::programs::home_today(w, ctx).await?;
    if !needs_cosignature(profile.as_ref(), today) {
        return Ok(None);
    }
    match profile.and_then(|p| p.supervisor_id) {
        Some(s) => Ok(Some(s)),
        None => Err(DomainError::rule(
            "supervisor_required",
            "your credential requires a supervisor's co-signature, and no supervisor is set on your staff profile",
        )),
    }
}

fn signature_of(ctx: &Ctx, at: DateTime<Utc>) -> Signature {
    Signature { by: ctx.actor.name.clone(), user_id: Some(ctx.actor.user_id), at }
}

pub async fn sign_plan(app: &App, ctx: &Ctx, id: PlanVersionId) -> Result<PlanVersion> {
    writing!(app, |w| {
        let (v, _) = plan_version_for_in(&w, ctx, id, Action::WriteClinicalRecord).await?;
        v.require_draft()?;
        let cosigner = cosigner_for(&w, ctx).await?;
        let ev = event(
            ctx,
            Action::WriteClinicalRecord,
            AuditAction::Update,
            "treatment_plan_version",
            Some(v.patient_id),
            Some(id.to_string()),
        )
        .detail("signed");
        w.db().sign_plan(ctx.org(), id, signature_of(ctx, w.now()), cosigner, ev).await?;
        w.db().plan_version(ctx.org(), id).await
    })
}

pub async fn cosign_plan(app: &App, ctx: &Ctx, id: PlanVersionId) -> Result<PlanVersion> {
    writing!(app, |w| {
        let (v, _) = plan_version_for_in(&w, ctx, id, Action::WriteClinicalRecord).await?;
        if v.supervisor_id != Some(ctx.actor.user_id) || v.status() != PlanStatus::AwaitingSupervisor {
            return Err(DomainError::conflict("nothing_to_cosign", "this plan version is not awaiting your signature"));
        }
        let ev = event(
            ctx,
            Action::WriteClinicalRecord,
            AuditAction::Update,
            "treatment_plan_version",
            Some(v.patient_id),
            Some(id.to_string()),
        )
        .detail("cosigned");
        w.db().cosign_plan(ctx.org(), id, signature_of(ctx, w.now()), ev).await?;
        w.db().plan_version(ctx.org(), id).await
    })
}

/// Records that the patient reviewed and acknowledged the plan (signed on paper or a pad).
pub async fn acknowledge_plan(app: &App, ctx: &Ctx, id: PlanVersionId, patient_name: &str) -> Result<PlanVersion> {
    writing!(app, |w| {
        let (v, _) = plan_version_for_in(&w, ctx, id, Action::WriteClinicalRecord).await?;
        let name = openiop_domain::tenancy::required_text("patient_name", patient_name, 200)?;
        let ev = event(
            ctx,
            Action::WriteClinicalRecord,
            AuditAction::Update,
            "treatment_plan_version",
            Some(v.patient_id),
            Some(id.to_string()),
        )
        .detail("patient_acknowledged");
        w.db().acknowledge_plan(ctx.org(), id, Signature { by: name, user_id: None, at: w.now() }, ev).await?;
        w.db().plan_version(ctx.org(), id).await
    })
}

// ---- Session notes ----

/// One participant of a session as the note screen shows them.
pub struct AttendeeView {
    pub patient_id: PatientId,
    pub name: String,
    pub episode_id: Option<EpisodeId>,
    pub attendance: Option<Attendance>,
    pub attended: bool,
    /// The patient's own active objectives (from the plan in force).
    pub objectives: Vec<Objective>,
    pub collaterals: Vec<String>,
    pub note: Option<SessionNote>,
}

/// Everything the note screens of one session need, read in a fixed number of queries.
pub struct NoteSheet {
    pub session: Session,
    pub service_name: String,
    pub is_group: bool,
    pub kind: NoteKind,
    pub staff: Vec<String>,
    pub attendees: Vec<AttendeeView>,
    pub settings: NoteSettings,
    pub due_at: DateTime<Utc>,
}

impl NoteSheet {
    pub fn attendee(&self, p: PatientId) -> Option<&AttendeeView> {
        self.attendees.iter().find(|a| a.patient_id == p)
    }

    fn facts(&self, a: &AttendeeView) -> SessionFacts {
        SessionFacts {
            date: self.session.local_date,
            starts_at: self.session.starts_at,
            minutes: self.session.minutes(),
            service: self.service_name.clone(),
            topic: self.session.topic.clone(),
            staff: self.staff.clone(),
            participants: self.attendees.iter().filter(|x| x.attended).count(),
            attendance: a.attendance.as_ref().map(|x| x.status),
            minutes_attended: a.attendance.as_ref().map(|x| x.minutes),
            collaterals: a.collaterals.clone(),
        }
    }
}

async fn load_sheet(w: &Work<'_>, ctx: &Ctx, session_id: SessionId, action: Action) -> Result<NoteSheet> {
    let session = session_for_in(w, ctx, session_id, action).await?;
    if session.status == SessionStatus::Cancelled {
        return Err(DomainError::conflict("session_cancelled", "a cancelled session has no notes"));
    }
    let org = ctx.org();
    // Only the participants the caller may see: the others' notes are their own clinicians'.
    let mut session = session;
    session.participants = crate::patients::visible(w, ctx, &session.participants).await?;
    let service = w.db().service_types(org).await?.into_iter().find(|s| s.id == session.service_type_id);
    let users: HashMap<UserId, String> = w.db().users(org).await?.into_iter().map(|u| (u.id, u.name)).collect();
    let staff = session.leaders.iter().filter_map(|l| users.get(l).cloned()).collect();
    let patients = w.db().patients_with_consents(org, &session.participants).await?;
    let programs = session.program_id.map(|p| vec![p]);
    let episodes: Vec<Episode> = w
        .db()
        .open_episodes(org, programs.as_deref())
        .await?
        .into_iter()
        .filter(|e| session.participants.contains(&e.patient_id))
        .collect();
    let plans = w.db().current_plans(org, &episodes.iter().map(|e| e.id).collect::<Vec<_>>()).await?;
    let all_attendance = w.db().attendance(org, &[session_id]).await?;
    let attendance: Vec<&Attendance> = current_attendance(&all_attendance);
    let notes = w.db().session_notes(org, &[session_id]).await?;
    let settings = w.db().note_settings(org).await?;
    let is_group = service.as_ref().is_some_and(|s| s.is_group);
    let family_allowed = service.as_ref().is_some_and(|s| s.family_allowed);
    let kind = match (is_group, family_allowed) {
        (true, true) => NoteKind::MultiFamily,
        (true, false) => NoteKind::Group,
        (false, true) if !session.family.is_empty() => NoteKind::Family,
        _ => NoteKind::Individual,
    };
    let mut attendees = Vec::new();
    for pid in &session.participants {
        let Some((patient, _)) = patients.iter().find(|(p, _)| p.id == *pid) else { continue };
        let episode = episodes.iter().find(|e| e.patient_id == *pid);
        let objectives = episode
            .and_then(|e| plans.iter().find(|v| v.episode_id == e.id))
            .map(|v| v.content.active_objectives().into_iter().cloned().collect())
            .unwrap_or_default();
        let att = attendance.iter().find(|a| a.patient_id == *pid).map(|a| (*a).clone());
        // Before attendance is taken, everyone scheduled counts as present.
        let attended = att.as_ref().is_none_or(|a| a.status.attended());
        let collaterals = session
            .family
            .iter()
            .filter(|(p, _)| p == pid)
            .filter_map(|(_, c)| patient.collaterals.iter().find(|x| x.id == *c))
            .map(|c| format!("{} ({})", c.name, c.relationship))
            .collect();
        attendees.push(AttendeeView {
            patient_id: *pid,
            name: patient.details.display_name(),
            episode_id: episode.map(|e| e.id),
            attendance: att,
            attended,
            objectives,
            collaterals,
            note: notes.iter().find(|n| n.patient_id == *pid).cloned(),
        });
    }
    attendees.sort_by(|a, b| a.name.cmp(&b.name));
    let due_at = note_due(session.ends_at, &settings);
    Ok(NoteSheet { service_name: service.map(|s| s.name).unwrap_or_default(), session, is_group, kind, staff, attendees, settings, due_at })
}

/// The note screen of a session (audited as one read of each participant's documentation).
pub async fn note_sheet(app: &App, ctx: &Ctx, session_id: SessionId) -> Result<NoteSheet> {
    reading!(app, |w| {
        let sheet = load_sheet(&w, ctx, session_id, Action::ViewClinicalRecord).await?;
        let ev = event(
            ctx,
            Action::ViewClinicalRecord,
            AuditAction::Read,
            "session_notes",
            sheet.attendees.first().map(|a| a.patient_id),
            Some(session_id.to_string()),
        )
        .detail(&format!("patients={}", sheet.attendees.len()));
        w.db().audit(ev).await?;
        Ok(sheet)
    })
}

fn new_note(
    ctx: &Ctx,
    sheet: &NoteSheet,
    a: &AttendeeView,
    format: NoteFormat,
    body: NoteBody,
    objectives: Vec<openiop_domain::plans::ObjectiveId>,
    now: DateTime<Utc>,
) -> SessionNote {
    SessionNote {
        id: NoteId::new(),
        organization_id: ctx.org(),
        session_id: sheet.session.id,
        patient_id: a.patient_id,
        episode_id: a.episode_id,
        kind: sheet.kind,
        format,
        body,
        attendance_only: false,
        objectives,
        author_id: ctx.actor.user_id,
        created_at: now,
        due_at: sheet.due_at,
        signed_by: None,
        signed_at: None,
        cosign_required: false,
        cosigner_id: None,
        cosigned_at: None,
        addenda: vec![],
    }
}

fn sign_in_place(notes: &mut [SessionNote], by: UserId, at: DateTime<Utc>, cosigner: Option<UserId>) {
    for n in notes {
        n.signed_by = Some(by);
        n.signed_at = Some(at);
        n.cosign_required = cosigner.is_some();
        n.cosigner_id = cosigner;
    }
}

/// Writes (or rewrites, while a draft) one patient's note for a session; `sign` signs it in the
/// same transaction.
pub async fn write_note(
    app: &App,
    ctx: &Ctx,
    session_id: SessionId,
    patient: PatientId,
    form: &NoteForm,
    sign: bool,
) -> Result<SessionNote> {
    writing!(app, |w| write_note_in(&w, ctx, session_id, patient, form, sign).await)
}

pub(crate) async fn write_note_in(
    w: &Work<'_>,
    ctx: &Ctx,
    session_id: SessionId,
    patient: PatientId,
    form: &NoteForm,
    sign: bool,
) -> Result<SessionNote> {
    let sheet = load_sheet(w, ctx, session_id, Action::WriteClinicalRecord).await?;
    let a = sheet
        .attendee(patient)
        .ok_or_else(|| DomainError::field("patient_id", "not_a_participant", "is not a participant of this session"))?;
    if let Some(n) = &a.note {
        n.require_unlocked()?;
    }
    let ids: Vec<_> = a.objectives.iter().map(|o| o.id).collect();
    let (format, sections, objectives) = parse_sections(form, &sheet.settings, &ids)?;
    let now = w.now();
    let body = NoteBody { sections, shared: None, participation: None, individualized: String::new(), facts: sheet.facts(a) };
    let mut note = new_note(ctx, &sheet, a, format, body, objectives, now);
    if sign {
        let cosigner = cosigner_for(w, ctx).await?;
        sign_in_place(std::slice::from_mut(&mut note), ctx.actor.user_id, now, cosigner);
    }
    let ev = event(ctx, Action::WriteClinicalRecord, AuditAction::Create, "session_note", Some(patient), Some(session_id.to_string()))
        .detail(if sign { "signed" } else { "draft" });
    w.db().save_notes(ctx.org(), std::slice::from_ref(&note), &[ev]).await?;
    find_note(w, ctx, session_id, patient).await
}

async fn find_note(w: &Work<'_>, ctx: &Ctx, session_id: SessionId, patient: PatientId) -> Result<SessionNote> {
    w.db().session_notes(ctx.org(), &[session_id]).await?.into_iter().find(|n| n.patient_id == patient).ok_or(DomainError::NotFound("note"))
}

/// A note the actor may act on (scope follows the session).
pub async fn note_for(app: &App, ctx: &Ctx, id: NoteId, action: Action) -> Result<SessionNote> {
    reading!(app, |w| note_for_in(&w, ctx, id, action).await)
}

pub(crate) async fn note_for_in(w: &Work<'_>, ctx: &Ctx, id: NoteId, action: Action) -> Result<SessionNote> {
    ctx.actor.require(action)?;
    let n = w.found(ctx, action, RecordKind::Note, &id.to_string(), w.db().note(ctx.org(), id).await).await?;
    session_for_in(w, ctx, n.session_id, action).await.map_err(|_| DomainError::NotFound("note"))?;
    // A note is about its patient: the session being in scope is not enough.
    crate::patients::patient_for(w, ctx, n.patient_id, action).await.map_err(|_| DomainError::NotFound("note"))?;
    Ok(n)
}

pub async fn read_note(app: &App, ctx: &Ctx, id: NoteId) -> Result<SessionNote> {
    reading!(app, |w| {
        let n = note_for_in(&w, ctx, id, Action::ViewClinicalRecord).await?;
        let ev = event(ctx, Action::ViewClinicalRecord, AuditAction::Read, "session_note", Some(n.patient_id), Some(id.to_string()));
        w.db().audit(ev).await?;
        Ok(n)
    })
}

/// Edits a draft; a signed note answers 409 `note_locked`.
pub async fn update_note(app: &App, ctx: &Ctx, id: NoteId, form: &NoteForm) -> Result<SessionNote> {
    writing!(app, |w| {
        let n = note_for_in(&w, ctx, id, Action::WriteClinicalRecord).await?;
        n.require_unlocked()?;
        if n.body.shared.is_some() {
            let mut f = openiop_domain::error::Fields::new();
            f.push("sections", "group_note", "edit a group note from its session's group-note screen");
            f.finish()?;
        }
        write_note_in(&w, ctx, n.session_id, n.patient_id, form, false).await
    })
}

pub async fn sign_note(app: &App, ctx: &Ctx, id: NoteId) -> Result<SessionNote> {
    writing!(app, |w| {
        let n = note_for_in(&w, ctx, id, Action::WriteClinicalRecord).await?;
        n.require_unlocked()?;
        let cosigner = cosigner_for(&w, ctx).await?;
        let ev = event(ctx, Action::WriteClinicalRecord, AuditAction::Update, "session_note", Some(n.patient_id), Some(id.to_string()))
            .detail("signed");
        w.db().sign_notes(ctx.org(), &[id], ctx.actor.user_id, w.now(), cosigner, &[ev]).await?;
        w.db().note(ctx.org(), id).await
    })
}

/// The supervisor co-signs from their queue; only the named supervisor may.
pub async fn cosign_note(app: &App, ctx: &Ctx, id: NoteId) -> Result<SessionNote> {
    writing!(app, |w| {
        let n = note_for_in(&w, ctx, id, Action::WriteClinicalRecord).await?;
        if n.status() != NoteStatus::PendingCosign || n.cosigner_id != Some(ctx.actor.user_id) {
            return Err(DomainError::conflict("nothing_to_cosign", "this note is not awaiting your co-signature"));
        }
        let ev = event(ctx, Action::WriteClinicalRecord, AuditAction::Update, "session_note", Some(n.patient_id), Some(id.to_string()))
            .detail("cosigned");
        w.db().cosign_note(ctx.org(), id, w.now(), ev).await?;
        w.db().note(ctx.org(), id).await
    })
}

/// Corrects a signed note: the addendum is kept with the original, which does not change.
pub async fn add_addendum(app: &App, ctx: &Ctx, id: NoteId, text: &str) -> Result<SessionNote> {
    writing!(app, |w| {
        let n = note_for_in(&w, ctx, id, Action::WriteClinicalRecord).await?;
        if n.signed_at.is_none() {
            return Err(DomainError::conflict("note_not_signed", "a draft is edited directly; addenda correct signed notes"));
        }
        let text = openiop_domain::tenancy::required_text("text", text, 4000)?;
        let a = Addendum { id: AddendumId::new(), author_id: ctx.actor.user_id, author: ctx.actor.name.clone(), text, at: w.now() };
        let ev = event(ctx, Action::WriteClinicalRecord, AuditAction::Create, "note_addendum", Some(n.patient_id), Some(id.to_string()));
        w.db().add_addendum(ctx.org(), id, a, ev).await?;
        w.db().note(ctx.org(), id).await
    })
}

pub async fn episode_notes(app: &App, ctx: &Ctx, episode_id: EpisodeId) -> Result<Vec<SessionNote>> {
    reading!(app, |w| {
        let e = episode_for(&w, ctx, episode_id, Action::ViewClinicalRecord).await?;
        let notes: Vec<SessionNote> =
            w.db().patient_notes(ctx.org(), e.patient_id).await?.into_iter().filter(|n| n.episode_id == Some(episode_id)).collect();
        let ev = event(
            ctx,
            Action::ViewClinicalRecord,
            AuditAction::Read,
            "session_note_list",
            Some(e.patient_id),
            Some(episode_id.to_string()),
        )
        .detail(&format!("results={}", notes.len()));
        w.db().audit(ev).await?;
        Ok(notes)
    })
}

// ---- Group notes ----

fn group_parts<'a>(sheet: &'a NoteSheet, ids: &'a [Vec<openiop_domain::plans::ObjectiveId>]) -> Vec<Attendee<'a>> {
    sheet
        .attendees
        .iter()
        .zip(ids)
        .map(|(a, o)| Attendee { patient_id: a.patient_id, name: &a.name, attended: a.attended, objectives: o })
        .collect()
}

fn pairs_of(sheet: &NoteSheet, entries: &[GroupEntry]) -> Vec<SimilarPair> {
    let texts: Vec<(PatientId, String, String)> = entries
        .iter()
        .filter(|e| !e.attendance_only)
        .filter_map(|e| sheet.attendee(e.patient_id).map(|a| (e.patient_id, a.name.clone(), e.individualized.clone())))
        .collect();
    similar_pairs(&texts, sheet.settings.similarity_percent)
}

/// The similarity check before signing: pairs of near-identical individualized sections.
pub async fn check_group_note(app: &App, ctx: &Ctx, session_id: SessionId, form: &GroupNoteForm) -> Result<Vec<SimilarPair>> {
    reading!(app, |w| {
        let sheet = load_sheet(&w, ctx, session_id, Action::WriteClinicalRecord).await?;
        let ids: Vec<Vec<_>> = sheet.attendees.iter().map(|a| a.objectives.iter().map(|o| o.id).collect()).collect();
        let (_, entries) = parse_group_note(form, &group_parts(&sheet, &ids))?;
        Ok(pairs_of(&sheet, &entries))
    })
}

/// Saves the group note: the shared section once, one note per participant (attendance-only
/// for those absent), all in one transaction; with `sign`, signed in that same transaction.
/// Signing refuses near-identical individualized sections unless `confirm_similar`.
pub async fn save_group_note(
    app: &App,
    ctx: &Ctx,
    session_id: SessionId,
    form: &GroupNoteForm,
    sign: bool,
    confirm_similar: bool,
) -> Result<Vec<SessionNote>> {
    writing!(app, |w| {
        let sheet = load_sheet(&w, ctx, session_id, Action::WriteClinicalRecord).await?;
        if !sheet.is_group {
            return Err(DomainError::rule("not_a_group", "this session is not a group; write an individual note"));
        }
        let ids: Vec<Vec<_>> = sheet.attendees.iter().map(|a| a.objectives.iter().map(|o| o.id).collect()).collect();
        let (shared, entries) = parse_group_note(form, &group_parts(&sheet, &ids))?;
        if sign && !confirm_similar {
            let pairs = pairs_of(&sheet, &entries);
            if !pairs.is_empty() {
                return Err(similarity_warning(&pairs));
            }
        }
        let now = w.now();
        let mut notes = Vec::new();
        let mut audits = Vec::new();
        for e in &entries {
            let Some(a) = sheet.attendee(e.patient_id) else { continue };
            let body = NoteBody {
                sections: vec![],
                shared: Some(shared.clone()),
                participation: e.participation,
                individualized: e.individualized.clone(),
                facts: sheet.facts(a),
            };
            let mut n = new_note(ctx, &sheet, a, sheet.settings.format, body, e.objectives.clone(), now);
            n.attendance_only = e.attendance_only;
            notes.push(n);
            audits.push(
                event(
                    ctx,
                    Action::WriteClinicalRecord,
                    AuditAction::Create,
                    "session_note",
                    Some(e.patient_id),
                    Some(session_id.to_string()),
                )
                .detail(if sign { "group_signed" } else { "group_draft" }),
            );
        }
        if sign {
            let cosigner = cosigner_for(&w, ctx).await?;
            sign_in_place(&mut notes, ctx.actor.user_id, now, cosigner);
        }
        w.db().save_notes(ctx.org(), &notes, &audits).await?;
        w.db().session_notes(ctx.org(), &[session_id]).await
    })
}

// ---- Documentation home ----

pub struct CosignRow {
    pub note: SessionNote,
    pub patient_name: String,
    pub author: String,
}

pub struct DocumentationHome {
    pub to_write: Vec<NoteToWrite>,
    pub to_cosign: Vec<CosignRow>,
    pub plans_to_cosign: Vec<(PlanVersion, String)>,
    pub overdue: Vec<NoteToWrite>,
    pub reviews: Vec<PlanReviewRow>,
}

/// What the signed-in clinician has to document: notes to write for sessions they led (last
/// two weeks), notes and plans awaiting their co-signature, overdue notes, and plan reviews due
/// within a week (or overdue) for the episodes in their scope.
pub async fn home(app: &App, ctx: &Ctx) -> Result<DocumentationHome> {
    reading!(app, |w| {
        ctx.actor.require(Action::ViewClinicalRecord)?;
        let org = ctx.org();
        let now = w.now();
        let today = crate::programs::home_today(&w, ctx).await?;
        let settings = w.db().note_settings(org).await?;
        let mine = SessionFilter { leader: Some(ctx.actor.user_id), ..Default::default() };
        let sessions: Vec<Session> = w
            .db()
            .sessions_between(org, now - Duration::days(14), now, &mine)
            .await?
            .into_iter()
            .filter(|s| s.status != SessionStatus::Cancelled && s.ends_at <= now && ctx.actor.scope.covers(Some(s.site_id), s.program_id))
            .collect();
        let ids: Vec<SessionId> = sessions.iter().map(|s| s.id).collect();
        let notes = w.db().session_notes(org, &ids).await?;
        let attendance = w.db().attendance(org, &ids).await?;
        let current = current_attendance(&attendance);
        let mut to_write = Vec::new();
        for s in &sessions {
            let missing = s
                .participants
                .iter()
                .filter(|p| {
                    let present = current.iter().find(|a| a.session_id == s.id && a.patient_id == **p).is_none_or(|a| a.status.attended());
                    present && !notes.iter().any(|n| n.session_id == s.id && n.patient_id == **p && n.signed_at.is_some())
                })
                .count();
            if missing > 0 {
                let due_at = note_due(s.ends_at, &settings);
                to_write.push(NoteToWrite {
                    session_id: s.id,
                    starts_at: s.starts_at,
                    topic: s.topic.clone(),
                    patients_without_note: missing,
                    due_at,
                    overdue: now > due_at,
                });
            }
        }
        to_write.sort_by_key(|r| r.due_at);
        let overdue: Vec<NoteToWrite> = to_write.iter().filter(|r| r.overdue).cloned().collect();

        let awaiting = w.db().notes_awaiting(org, ctx.actor.user_id).await?;
        let plans_awaiting = w.db().plans_awaiting(org, ctx.actor.user_id).await?;
        let users: HashMap<UserId, String> = w.db().users(org).await?.into_iter().map(|u| (u.id, u.name)).collect();
        let mut people: Vec<PatientId> = awaiting.iter().map(|n| n.patient_id).chain(plans_awaiting.iter().map(|p| p.patient_id)).collect();

        let programs: Vec<Program> = w.db().programs(org).await?;
        let sites: HashMap<openiop_domain::ids::SiteId, chrono_tz::Tz> =
            w.db().sites(org).await?.into_iter().map(|s| (s.id, s.time_zone.0)).collect();
        let episodes: Vec<Episode> = w
            .db()
            .open_episodes(org, None)
            .await?
            .into_iter()
            .filter(|e| ctx.actor.scope.covers(Some(e.site_id), Some(e.program_id)))
            .collect();
        let plans = w.db().current_plans(org, &episodes.iter().map(|e| e.id).collect::<Vec<_>>()).await?;
        people.extend(episodes.iter().map(|e| e.patient_id));
        people.sort();
        people.dedup();
        let patients: HashMap<PatientId, Patient> =
            w.db().patients_with_consents(org, &people).await?.into_iter().map(|(p, _)| (p.id, p)).collect();
        let name = |p: PatientId| patients.get(&p).map(|x| x.details.display_name()).unwrap_or_default();
        let mut reviews = Vec::new();
        for e in &episodes {
            let Some(program) = programs.iter().find(|p| p.id == e.program_id) else { continue };
            let medicare = patients.get(&e.patient_id).is_some_and(|p| is_medicare(&settings.review, &p.coverages));
            let plan = plans.iter().find(|v| v.episode_id == e.id);
            // Each episode's review falls due on its own site's calendar.
            let today = sites.get(&e.site_id).map(|tz| openiop_domain::clock::local_date(now, *tz)).unwrap_or(today);
            let due = review_due(&settings.review, program.plan_review_days, e, plan, medicare, today);
            if due.due_on <= today + Duration::days(7) {
                reviews.push(PlanReviewRow { episode_id: e.id, patient_id: e.patient_id, patient_name: name(e.patient_id), due });
            }
        }
        reviews.sort_by_key(|r| r.due.due_on);
        let to_cosign = awaiting
            .into_iter()
            .map(|n| CosignRow { patient_name: name(n.patient_id), author: users.get(&n.author_id).cloned().unwrap_or_default(), note: n })
            .collect();
        let plans_to_cosign = plans_awaiting.into_iter().map(|p| (name(p.patient_id), p)).map(|(n, p)| (p, n)).collect();
        let ev = event(ctx, Action::ViewClinicalRecord, AuditAction::Read, "documentation_home", None, None);
        w.db().audit(ev).await?;
        Ok(DocumentationHome { to_write, to_cosign, plans_to_cosign, overdue, reviews })
    })
}

/// Every plan version of an episode (the note screen cites the objectives they hold).
pub async fn plan_versions(app: &App, ctx: &Ctx, episode_id: EpisodeId) -> Result<Vec<PlanVersion>> {
    reading!(app, |w| {
        episode_for(&w, ctx, episode_id, Action::ViewClinicalRecord).await?;
        w.db().plan_versions(ctx.org(), episode_id).await
    })
}

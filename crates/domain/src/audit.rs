//! The audit log (ONC §170.315(d)(2), ASTM E2147 fields): every touch of patient data and every
//! security event, append-only and hash-chained so that any edit or deletion is detectable.
use crate::auth::Ctx;
use crate::ids::{OrganizationId, UserId};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Read,
    Create,
    Update,
    Delete,
    Export,
    Search,
    LoginSuccess,
    LoginFailure,
    LoginLocked,
    Logout,
    MfaEnrolled,
    MfaChallengeSuccess,
    MfaChallengeFailure,
    RecoveryCodeUsed,
    RoleChange,
    ScopeChange,
    TokenCreated,
    TokenRevoked,
    TokenRejected,
    AccessDenied,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Read => "read",
            AuditAction::Create => "create",
            AuditAction::Update => "update",
            AuditAction::Delete => "delete",
            AuditAction::Export => "export",
            AuditAction::Search => "search",
            AuditAction::LoginSuccess => "login_success",
            AuditAction::LoginFailure => "login_failure",
            AuditAction::LoginLocked => "login_locked",
            AuditAction::Logout => "logout",
            AuditAction::MfaEnrolled => "mfa_enrolled",
            AuditAction::MfaChallengeSuccess => "mfa_challenge_success",
            AuditAction::MfaChallengeFailure => "mfa_challenge_failure",
            AuditAction::RecoveryCodeUsed => "recovery_code_used",
            AuditAction::RoleChange => "role_change",
            AuditAction::ScopeChange => "scope_change",
            AuditAction::TokenCreated => "token_created",
            AuditAction::TokenRevoked => "token_revoked",
            AuditAction::TokenRejected => "token_rejected",
            AuditAction::AccessDenied => "access_denied",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// One event to record. `detail` is a short machine word (e.g. `wrong_password`), never PHI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    pub organization_id: Option<OrganizationId>,
    pub user_id: Option<UserId>,
    /// The account named in the event (for a failed login, the identifier that was typed).
    pub actor: String,
    pub role: String,
    pub patient_id: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub outcome: String,
    pub source_ip: String,
    pub request_id: String,
    pub detail: String,
}

impl AuditEvent {
    /// An event done by a signed-in actor.
    pub fn by(ctx: &Ctx, role: Option<crate::auth::Role>, action: AuditAction, resource_type: &str, resource_id: Option<String>) -> Self {
        Self {
            organization_id: Some(ctx.actor.organization_id),
            user_id: Some(ctx.actor.user_id),
            actor: ctx.actor.email.clone(),
            role: role.map(|r| r.as_str().to_string()).unwrap_or_default(),
            patient_id: None,
            action: action.as_str().to_string(),
            resource_type: resource_type.to_string(),
            resource_id,
            outcome: Outcome::Success.as_str().to_string(),
            source_ip: ctx.meta.source_ip.clone(),
            request_id: ctx.meta.request_id.clone(),
            detail: String::new(),
        }
    }

    /// An event done by the system or an operator at the command line (no signed-in user).
    pub fn system(actor: &str, action: AuditAction, resource_type: &str, resource_id: Option<String>) -> Self {
        Self {
            organization_id: None,
            user_id: None,
            actor: actor.to_string(),
            role: "system".to_string(),
            patient_id: None,
            action: action.as_str().to_string(),
            resource_type: resource_type.to_string(),
            resource_id,
            outcome: Outcome::Success.as_str().to_string(),
            source_ip: "local".to_string(),
            request_id: String::new(),
            detail: String::new(),
        }
    }

    pub fn in_org(mut self, org: OrganizationId) -> Self {
        self.organization_id = Some(org);
        self
    }

    pub fn patient(mut self, patient_id: impl ToString) -> Self {
        self.patient_id = Some(patient_id.to_string());
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome.as_str().to_string();
        self
    }

    pub fn detail(mut self, detail: &str) -> Self {
        self.detail = detail.to_string();
        self
    }
}

/// A stored entry: the event plus its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    #[serde(flatten)]
    pub event: AuditEvent,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of the chain before its first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Timestamps are hashed and stored in this one form, so both engines agree byte for byte.
pub fn timestamp_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// SHA-256 over the previous hash and every field, each length-prefixed so that no two
/// different entries can produce the same input.
pub fn entry_hash(seq: i64, occurred_at: &str, e: &AuditEvent, prev_hash: &str) -> String {
    let mut h = Sha256::new();
    let org = e.organization_id.map(|o| o.to_string()).unwrap_or_default();
    let user = e.user_id.map(|u| u.to_string()).unwrap_or_default();
    let fields: [&str; 15] = [
        prev_hash,
        &seq.to_string(),
        occurred_at,
        &org,
        &user,
        &e.actor,
        &e.role,
        e.patient_id.as_deref().unwrap_or(""),
        &e.action,
        &e.resource_type,
        e.resource_id.as_deref().unwrap_or(""),
        &e.outcome,
        &e.source_ip,
        &e.request_id,
        &e.detail,
    ];
    for f in fields {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex::encode(h.finalize())
}

/// What `openiop audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainVerdict {
    Intact { entries: i64 },
    Broken { seq: i64, reason: String },
}

/// Walks the chain in order. Call `check` for each entry, then `finish` with the head the
/// database recorded (the last sequence number and hash written).
#[derive(Debug)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
    broken: Option<(i64, String)>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self { expected_seq: 1, prev_hash: GENESIS_HASH.to_string(), broken: None }
    }
}

impl ChainVerifier {
    pub fn check(&mut self, entry: &AuditEntry) {
        if self.broken.is_some() {
            return;
        }
        let fail = |seq: i64, why: String| Some((seq, why));
        if entry.seq != self.expected_seq {
            self.broken = fail(self.expected_seq, format!("entry {} is missing (next entry found is {})", self.expected_seq, entry.seq));
            return;
        }
        if entry.prev_hash != self.prev_hash {
            self.broken = fail(entry.seq, format!("entry {} does not link to the entry before it", entry.seq));
            return;
        }
        let recomputed = entry_hash(entry.seq, &timestamp_text(entry.occurred_at), &entry.event, &entry.prev_hash);
        if recomputed != entry.hash {
            self.broken = fail(entry.seq, format!("entry {} was altered: its contents no longer match its hash", entry.seq));
            return;
        }
        self.prev_hash = entry.hash.clone();
        self.expected_seq += 1;
    }

    pub fn finish(self, head_seq: i64, head_hash: &str) -> ChainVerdict {
        if let Some((seq, reason)) = self.broken {
            return ChainVerdict::Broken { seq, reason };
        }
        let last = self.expected_seq - 1;
        if head_seq != last {
            let seq = last + 1;
            return ChainVerdict::Broken { seq, reason: format!("entries {seq} to {head_seq} were written but are missing from the log") };
        }
        if head_hash != self.prev_hash {
            return ChainVerdict::Broken { seq: last, reason: format!("entry {last} does not match the recorded chain head") };
        }
        ChainVerdict::Intact { entries: last }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: usize) -> AuditEvent {
        AuditEvent {
            organization_id: None,
            user_id: None,
            actor: format!("user{n}@clinic.org"),
            role: "clinician".into(),
            patient_id: None,
            action: "read".into(),
            resource_type: "patient".into(),
            resource_id: Some(n.to_string()),
            outcome: "success".into(),
            source_ip: "127.0.0.1".into(),
            request_id: format!("req-{n}"),
            detail: String::new(),
        }
    }

    fn chain(n: usize) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH.to_string();
        let t = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 17, 9, 0, 0).single().expect("time");
        (1..=n)
            .map(|i| {
                let e = event(i);
                let hash = entry_hash(i as i64, &timestamp_text(t), &e, &prev);
                let entry = AuditEntry { seq: i as i64, occurred_at: t, event: e, prev_hash: prev.clone(), hash: hash.clone() };
                prev = hash;
                entry
            })
            .collect()
    }

    fn verify(entries: &[AuditEntry], head_seq: i64, head_hash: &str) -> ChainVerdict {
        let mut v = ChainVerifier::default();
        entries.iter().for_each(|e| v.check(e));
        v.finish(head_seq, head_hash)
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let c = chain(5);
        assert_eq!(verify(&c, 5, &c[4].hash), ChainVerdict::Intact { entries: 5 });
    }

    #[test]
    fn an_edited_entry_is_named() {
        let mut c = chain(5);
        c[2].event.actor = "someone-else@clinic.org".into();
        assert!(matches!(verify(&c, 5, &c[4].hash.clone()), ChainVerdict::Broken { seq: 3, .. }));
    }

    #[test]
    fn a_deleted_entry_is_named_even_at_the_end() {
        let mut c = chain(5);
        let head = c[4].hash.clone();
        c.remove(1);
        assert!(matches!(verify(&c, 5, &head), ChainVerdict::Broken { seq: 2, .. }));
        let mut d = chain(5);
        d.pop();
        assert!(matches!(verify(&d, 5, &head), ChainVerdict::Broken { seq: 5, .. }));
    }
}

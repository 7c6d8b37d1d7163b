-- Treatment plans (one row per version; a version's content is one immutable document once
-- signed), session notes (one per patient per session), the objectives they cite, addenda,
-- and the organization's documentation settings.
CREATE TABLE documentation_settings (
    organization_id TEXT PRIMARY KEY REFERENCES organizations(id),
    settings TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE plan_versions (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    episode_id TEXT NOT NULL REFERENCES episodes(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    version BIGINT NOT NULL,
    content TEXT NOT NULL,
    reason TEXT NOT NULL,
    planned_discharge_on TEXT,
    author_id TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    clinician_name TEXT,
    clinician_id TEXT REFERENCES users(id),
    clinician_signed_at TEXT,
    supervisor_required INTEGER NOT NULL,
    supervisor_id TEXT REFERENCES users(id),
    supervisor_name TEXT,
    supervisor_signed_at TEXT,
    patient_ack_name TEXT,
    patient_ack_at TEXT,
    UNIQUE (episode_id, version)
);
CREATE INDEX plan_versions_supervisor ON plan_versions (supervisor_id);

-- A signed version's content never changes (signatures may still be added).
CREATE TRIGGER plan_versions_locked BEFORE UPDATE ON plan_versions
WHEN OLD.clinician_signed_at IS NOT NULL AND (NEW.content IS NOT OLD.content OR NEW.clinician_signed_at IS NOT OLD.clinician_signed_at)
BEGIN
    SELECT RAISE(ABORT, 'plan_locked');
END;

CREATE TABLE session_notes (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    session_id TEXT NOT NULL REFERENCES sessions(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    episode_id TEXT REFERENCES episodes(id),
    kind TEXT NOT NULL,
    format TEXT NOT NULL,
    body TEXT NOT NULL,
    attendance_only INTEGER NOT NULL,
    author_id TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    signed_by TEXT REFERENCES users(id),
    signed_at TEXT,
    cosign_required INTEGER NOT NULL,
    cosigner_id TEXT REFERENCES users(id),
    cosigned_at TEXT,
    UNIQUE (session_id, patient_id)
);
CREATE INDEX session_notes_patient ON session_notes (patient_id);
CREATE INDEX session_notes_cosigner ON session_notes (cosigner_id);
CREATE INDEX session_notes_due ON session_notes (organization_id, due_at);

-- A signed note's text never changes, and signed notes are never deleted: corrections are addenda.
CREATE TRIGGER session_notes_locked BEFORE UPDATE ON session_notes
WHEN OLD.signed_at IS NOT NULL AND (NEW.body IS NOT OLD.body OR NEW.signed_at IS NOT OLD.signed_at OR NEW.signed_by IS NOT OLD.signed_by)
BEGIN
    SELECT RAISE(ABORT, 'note_locked');
END;
CREATE TRIGGER session_notes_no_delete BEFORE DELETE ON session_notes
WHEN OLD.signed_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'note_locked');
END;

CREATE TABLE note_objectives (
    note_id TEXT NOT NULL REFERENCES session_notes(id),
    objective_id TEXT NOT NULL,
    PRIMARY KEY (note_id, objective_id)
);
CREATE INDEX note_objectives_objective ON note_objectives (objective_id);

CREATE TABLE note_addenda (
    id TEXT PRIMARY KEY,
    note_id TEXT NOT NULL REFERENCES session_notes(id),
    author_id TEXT NOT NULL REFERENCES users(id),
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX note_addenda_note ON note_addenda (note_id);

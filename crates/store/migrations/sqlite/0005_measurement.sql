-- Measurement-based care: settings, imported instruments, cadences, results with codes,
-- patient links (token hashes only), risk flags, clinical tasks, assessments, safety plans.
CREATE TABLE measurement_settings (
    organization_id TEXT PRIMARY KEY REFERENCES organizations(id),
    settings TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE instruments (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    code TEXT NOT NULL,
    scoring_for TEXT NOT NULL,
    definition TEXT NOT NULL,
    questionnaire TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    UNIQUE (organization_id, code)
);

CREATE TABLE measurement_cadences (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    instrument TEXT NOT NULL,
    every_days BIGINT NOT NULL,
    follow_up INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (program_id, instrument)
);

CREATE TABLE measurement_results (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    episode_id TEXT NOT NULL REFERENCES episodes(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    instrument TEXT NOT NULL,
    instrument_name TEXT NOT NULL,
    loinc TEXT,
    total_loinc TEXT,
    administered_on TEXT NOT NULL,
    context TEXT NOT NULL,
    follow_up_days BIGINT,
    source TEXT NOT NULL,
    entered_by TEXT NOT NULL,
    total REAL,
    band TEXT,
    responses TEXT NOT NULL,
    score TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX measurement_results_patient ON measurement_results (organization_id, patient_id, administered_on);
CREATE INDEX measurement_results_program ON measurement_results (organization_id, program_id, instrument);

CREATE TABLE measurement_links (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    token_hash TEXT NOT NULL UNIQUE,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    episode_id TEXT NOT NULL REFERENCES episodes(id),
    instrument TEXT NOT NULL,
    context TEXT NOT NULL,
    follow_up_days BIGINT,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    result_id TEXT REFERENCES measurement_results(id),
    created_at TEXT NOT NULL
);

CREATE TABLE risk_flags (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    episode_id TEXT NOT NULL REFERENCES episodes(id),
    result_id TEXT NOT NULL REFERENCES measurement_results(id),
    code TEXT NOT NULL,
    level TEXT,
    instrument TEXT NOT NULL,
    items TEXT NOT NULL,
    action TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    cleared_at TEXT,
    cleared_by TEXT REFERENCES users(id),
    assessment_id TEXT
);
CREATE INDEX risk_flags_patient ON risk_flags (organization_id, patient_id);

CREATE TABLE clinical_tasks (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    episode_id TEXT NOT NULL REFERENCES episodes(id),
    risk_flag_id TEXT REFERENCES risk_flags(id),
    assigned_to TEXT REFERENCES users(id),
    title TEXT NOT NULL,
    due_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    completed_at TEXT
);
CREATE INDEX clinical_tasks_assignee ON clinical_tasks (organization_id, assigned_to, completed_at);

CREATE TABLE risk_assessments (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    risk_flag_id TEXT NOT NULL REFERENCES risk_flags(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    assessed_by TEXT NOT NULL REFERENCES users(id),
    assessed_by_name TEXT NOT NULL,
    assessed_at TEXT NOT NULL,
    risk_level TEXT NOT NULL,
    findings TEXT NOT NULL,
    disposition TEXT NOT NULL,
    safety_plan_reviewed INTEGER NOT NULL
);
CREATE INDEX risk_assessments_patient ON risk_assessments (organization_id, patient_id);

CREATE TABLE safety_plans (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    episode_id TEXT NOT NULL REFERENCES episodes(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    version BIGINT NOT NULL,
    sections TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_by_name TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (episode_id, version)
);

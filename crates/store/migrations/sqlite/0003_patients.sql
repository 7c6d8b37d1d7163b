-- Patients, referrals, episodes of care with two level-of-care lines, consents.
CREATE TABLE org_counters (
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (organization_id, name)
);

CREATE TABLE patients (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    site_id TEXT NOT NULL REFERENCES sites(id),
    mrn TEXT NOT NULL,
    legal_first TEXT NOT NULL,
    legal_last TEXT NOT NULL,
    preferred_name TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    details TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (organization_id, mrn)
);
CREATE INDEX patients_name ON patients (organization_id, legal_last, legal_first);
CREATE INDEX patients_dob ON patients (organization_id, date_of_birth);

CREATE TABLE collaterals (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    name TEXT NOT NULL,
    relationship TEXT NOT NULL,
    phone TEXT NOT NULL,
    email TEXT NOT NULL
);
CREATE INDEX collaterals_patient ON collaterals (patient_id);

CREATE TABLE coverages (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    payer TEXT NOT NULL,
    member_id TEXT NOT NULL,
    group_number TEXT NOT NULL,
    position BIGINT NOT NULL
);
CREATE INDEX coverages_patient ON coverages (patient_id);

CREATE TABLE referrals (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    site_id TEXT NOT NULL REFERENCES sites(id),
    program_id TEXT REFERENCES programs(id),
    source TEXT NOT NULL,
    contact TEXT NOT NULL,
    reason TEXT NOT NULL,
    urgency TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT NOT NULL,
    from_level_edition TEXT,
    from_level_code TEXT,
    patient TEXT NOT NULL,
    patient_id TEXT REFERENCES patients(id),
    received_on TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX referrals_org_status ON referrals (organization_id, status);

CREATE TABLE episodes (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    site_id TEXT NOT NULL REFERENCES sites(id),
    track_id TEXT REFERENCES tracks(id),
    admitted_on TEXT NOT NULL,
    primary_clinician_id TEXT REFERENCES users(id),
    status TEXT NOT NULL,
    reassessment_due INTEGER NOT NULL,
    plan_review_due INTEGER NOT NULL,
    discharged_on TEXT,
    discharge TEXT,
    referral_id TEXT REFERENCES referrals(id),
    created_at TEXT NOT NULL
);
CREATE INDEX episodes_patient ON episodes (patient_id);
CREATE INDEX episodes_program_status ON episodes (organization_id, program_id, status);

CREATE TABLE diagnoses (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    episode_id TEXT NOT NULL REFERENCES episodes(id),
    code TEXT NOT NULL,
    description TEXT NOT NULL,
    is_primary INTEGER NOT NULL,
    position BIGINT NOT NULL
);
CREATE INDEX diagnoses_episode ON diagnoses (episode_id);

CREATE TABLE level_spans (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    episode_id TEXT NOT NULL REFERENCES episodes(id),
    line TEXT NOT NULL,
    level_edition TEXT NOT NULL,
    level_code TEXT NOT NULL,
    from_date TEXT NOT NULL,
    to_date TEXT,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX level_spans_episode ON level_spans (episode_id, line, from_date);

CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    recipients TEXT NOT NULL,
    purpose TEXT NOT NULL,
    information TEXT NOT NULL,
    expires_on TEXT,
    expiry_event TEXT NOT NULL,
    signed_by TEXT NOT NULL,
    signed_on TEXT NOT NULL,
    collateral_id TEXT REFERENCES collaterals(id),
    revoked_on TEXT,
    revoked_by TEXT NOT NULL,
    revocation_note TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX consents_patient ON consents (patient_id);

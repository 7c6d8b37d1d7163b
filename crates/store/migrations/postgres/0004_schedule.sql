-- Sessions (recurring series from track templates), leaders, participants, family,
-- attendance with amendments, site closures and calendar feeds.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    site_id TEXT NOT NULL REFERENCES sites(id),
    program_id TEXT REFERENCES programs(id),
    track_id TEXT REFERENCES tracks(id),
    template_id TEXT,
    service_type_id TEXT NOT NULL REFERENCES service_types(id),
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    local_date TEXT NOT NULL,
    room_id TEXT REFERENCES rooms(id),
    is_virtual BOOLEAN NOT NULL,
    virtual_token TEXT,
    capacity BIGINT NOT NULL,
    topic TEXT NOT NULL,
    modality TEXT,
    status TEXT NOT NULL,
    cancel_reason TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (template_id, local_date)
);
CREATE INDEX sessions_org_time ON sessions (organization_id, starts_at);
CREATE INDEX sessions_track ON sessions (track_id, local_date);

CREATE TABLE session_leaders (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (session_id, user_id)
);
CREATE INDEX session_leaders_user ON session_leaders (user_id);

CREATE TABLE session_participants (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    PRIMARY KEY (session_id, patient_id)
);
CREATE INDEX session_participants_patient ON session_participants (patient_id);

CREATE TABLE session_family (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    collateral_id TEXT NOT NULL REFERENCES collaterals(id),
    PRIMARY KEY (session_id, collateral_id)
);

CREATE TABLE attendance (
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    session_id TEXT NOT NULL REFERENCES sessions(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    version BIGINT NOT NULL,
    status TEXT NOT NULL,
    minutes BIGINT NOT NULL,
    mode TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at TEXT NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (session_id, patient_id, version)
);

CREATE TABLE closures (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    site_id TEXT NOT NULL REFERENCES sites(id),
    closed_on TEXT NOT NULL,
    reason TEXT NOT NULL,
    UNIQUE (site_id, closed_on)
);

CREATE TABLE calendar_feeds (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    owner TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- Programs, tracks and weekly templates, rooms, the service catalogue, staff and credentials.
ALTER TABLE organizations ADD COLUMN video_base_url TEXT;

CREATE TABLE rooms (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    site_id TEXT NOT NULL REFERENCES sites(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    capacity BIGINT NOT NULL CHECK (capacity > 0),
    notes TEXT NOT NULL,
    UNIQUE (site_id, name)
);

CREATE TABLE service_types (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    default_minutes BIGINT NOT NULL,
    counts_toward_hours INTEGER NOT NULL,
    is_group INTEGER NOT NULL,
    family_allowed INTEGER NOT NULL,
    billing_codes TEXT NOT NULL,
    permitted TEXT NOT NULL,
    UNIQUE (organization_id, code)
);

CREATE TABLE programs (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    site_id TEXT NOT NULL REFERENCES sites(id),
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    condition_focus TEXT NOT NULL,
    population TEXT NOT NULL,
    level_edition TEXT NOT NULL,
    level_code TEXT NOT NULL,
    weekly_hours DOUBLE PRECISION NOT NULL,
    expected_days_min BIGINT NOT NULL,
    expected_days_max BIGINT NOT NULL,
    delivery_modes TEXT NOT NULL,
    plan_review_days BIGINT NOT NULL,
    group_cap BIGINT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX programs_org ON programs (organization_id);

CREATE TABLE tracks (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    name TEXT NOT NULL,
    delivery_mode TEXT NOT NULL,
    UNIQUE (program_id, name)
);

CREATE TABLE template_sessions (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    track_id TEXT NOT NULL REFERENCES tracks(id),
    service_type_id TEXT NOT NULL REFERENCES service_types(id),
    weekday BIGINT NOT NULL,
    start_time TEXT NOT NULL,
    minutes BIGINT NOT NULL,
    room_id TEXT REFERENCES rooms(id),
    is_virtual INTEGER NOT NULL,
    leader_id TEXT REFERENCES users(id),
    topic TEXT NOT NULL,
    modality TEXT
);
CREATE INDEX template_sessions_track ON template_sessions (track_id);

CREATE TABLE staff_profiles (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    discipline TEXT NOT NULL,
    telehealth_trained INTEGER NOT NULL,
    telehealth_years BIGINT NOT NULL,
    modalities TEXT NOT NULL,
    availability TEXT NOT NULL,
    max_caseload BIGINT NOT NULL,
    supervisor_id TEXT REFERENCES users(id)
);

CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    number TEXT NOT NULL,
    state TEXT NOT NULL,
    board TEXT NOT NULL,
    issued_on TEXT NOT NULL,
    expires_on TEXT NOT NULL,
    verification TEXT NOT NULL,
    verified_by TEXT REFERENCES users(id),
    verified_at TEXT
);
CREATE INDEX credentials_user ON credentials (user_id);
CREATE INDEX credentials_org_expiry ON credentials (organization_id, expires_on);

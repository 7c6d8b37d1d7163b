-- Clinical safety: hours counted as delivered, population rules with audited exceptions, and
-- consents whose revocation takes effect for the future.

-- A late arrival or early departure needs its minutes; an organization may instead credit the
-- session less a configured number of minutes (documentation settings), and such records say so.
ALTER TABLE attendance ADD COLUMN credited_by_default INTEGER NOT NULL DEFAULT 0;

-- A clinician's recorded exception to the population rule (a minor in an adult program or group,
-- an adult in an adolescent one): at admission it covers the episode's program, at a booking
-- that session only. Who and when are kept with the reason.
CREATE TABLE population_exceptions (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    episode_id TEXT REFERENCES episodes(id),
    session_id TEXT REFERENCES sessions(id),
    patient_population TEXT NOT NULL,
    reason TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at TEXT NOT NULL
);
CREATE INDEX population_exceptions_patient ON population_exceptions (organization_id, patient_id);
CREATE INDEX population_exceptions_session ON population_exceptions (session_id);

-- Which family members a consent's revocation took off which future sessions.
CREATE TABLE family_removals (
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    consent_id TEXT NOT NULL REFERENCES consents(id),
    session_id TEXT NOT NULL REFERENCES sessions(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    collateral_id TEXT NOT NULL REFERENCES collaterals(id),
    removed_by TEXT NOT NULL REFERENCES users(id),
    removed_at TEXT NOT NULL,
    PRIMARY KEY (consent_id, session_id, collateral_id)
);

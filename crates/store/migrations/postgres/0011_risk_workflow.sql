-- Risk work always has an owner, one open flag per episode keeps a history, and a clinician's
-- disposition at discharge is kept on the flag it closed.

-- The program's clinical lead answers for risk work when an episode has no primary clinician.
ALTER TABLE programs ADD COLUMN clinical_lead_id TEXT REFERENCES users(id);

-- Who answers for a task, and how soon. Tasks written before this had the primary clinician
-- or nobody: nobody becomes the clinical directors.
ALTER TABLE clinical_tasks ADD COLUMN owner_kind TEXT;
ALTER TABLE clinical_tasks ADD COLUMN urgency TEXT;
UPDATE clinical_tasks SET owner_kind = CASE WHEN assigned_to IS NULL THEN 'clinical_directors' ELSE 'primary_clinician' END,
    urgency = 'same_day';

ALTER TABLE risk_flags ADD COLUMN discharge_disposition TEXT;
-- A later open flag of the same episode and code is merged into the first one (its result joins
-- that flag's history, its tasks move with it) before the one-open-flag rule is set.
ALTER TABLE risk_flags ADD COLUMN merged_into TEXT REFERENCES risk_flags(id);
UPDATE risk_flags SET merged_into = (
    SELECT k.id FROM risk_flags k
    WHERE k.episode_id = risk_flags.episode_id AND k.code = risk_flags.code AND k.cleared_at IS NULL
    ORDER BY k.raised_at, k.id LIMIT 1)
WHERE cleared_at IS NULL AND id <> (
    SELECT k.id FROM risk_flags k
    WHERE k.episode_id = risk_flags.episode_id AND k.code = risk_flags.code AND k.cleared_at IS NULL
    ORDER BY k.raised_at, k.id LIMIT 1);
UPDATE clinical_tasks SET risk_flag_id = (SELECT f.merged_into FROM risk_flags f WHERE f.id = clinical_tasks.risk_flag_id)
WHERE risk_flag_id IN (SELECT id FROM risk_flags WHERE merged_into IS NOT NULL);
CREATE UNIQUE INDEX risk_flags_one_open ON risk_flags (episode_id, code) WHERE cleared_at IS NULL AND merged_into IS NULL;

-- Every positive result on a flag, oldest first: the first raised it, later ones repeated it.
CREATE TABLE risk_flag_events (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    risk_flag_id TEXT NOT NULL REFERENCES risk_flags(id),
    result_id TEXT NOT NULL REFERENCES measurement_results(id),
    instrument TEXT NOT NULL,
    level TEXT,
    items TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX risk_flag_events_flag ON risk_flag_events (organization_id, risk_flag_id, recorded_at);
INSERT INTO risk_flag_events (id, organization_id, risk_flag_id, result_id, instrument, level, items, recorded_at)
SELECT 'migrated-' || id, organization_id, COALESCE(merged_into, id), result_id, instrument, level, items, raised_at FROM risk_flags;

-- An unowned task cannot exist.
ALTER TABLE clinical_tasks ALTER COLUMN owner_kind SET NOT NULL;
ALTER TABLE clinical_tasks ALTER COLUMN urgency SET NOT NULL;
ALTER TABLE clinical_tasks ADD CONSTRAINT clinical_tasks_owned CHECK (
    (owner_kind IN ('primary_clinician', 'clinical_lead') AND assigned_to IS NOT NULL)
    OR (owner_kind = 'clinical_directors' AND assigned_to IS NULL));

-- A patient has at most one open episode of care: the database refuses a second, whatever
-- the application checked (two admissions racing each other get one episode).
CREATE UNIQUE INDEX episodes_one_open ON episodes (patient_id) WHERE status <> 'discharged';

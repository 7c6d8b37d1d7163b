-- Per-installation secrets, shared by every app server: the key of the audit log's keyed
-- hashes (what was typed as the account of a failed sign-in is never stored as typed).
CREATE TABLE installation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    audit_key TEXT NOT NULL
);

-- Hours reports and calendars read a window of sessions and filter it by end time, site,
-- program and id (a patient list): the time index carries those columns, so only the
-- sessions that match are read from the table (at operator scale a week of the whole
-- organization is ~5,000 index entries, and a program's patients are in a few dozen).
DROP INDEX sessions_org_time;
CREATE INDEX sessions_org_time ON sessions (organization_id, starts_at, ends_at, site_id, program_id, id);

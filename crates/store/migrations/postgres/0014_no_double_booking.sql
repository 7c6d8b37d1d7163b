-- No double booking, held by the database itself: a room, a leader or a patient is in at most one
-- live (not cancelled) session at any instant, whatever the app servers do. The scheduling rules
-- check it first with a clear message; these constraints make a race or a bug unable to store it.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Times are stored as RFC 3339 text in UTC ("…Z"), which reads as the same instant under any
-- session setting; plpgsql keeps the cast from being inlined into the index expression.
CREATE FUNCTION utc_instant(t TEXT) RETURNS timestamptz LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    RETURN t::timestamptz;
END;
$$;

ALTER TABLE sessions ADD CONSTRAINT sessions_room_booked_once
    EXCLUDE USING gist (room_id WITH =, tstzrange(utc_instant(starts_at), utc_instant(ends_at)) WITH &&)
    WHERE (room_id IS NOT NULL AND status <> 'cancelled');

-- A session's leaders and participants carry its times and whether it is live, kept by triggers.
ALTER TABLE session_leaders ADD COLUMN starts_at TEXT, ADD COLUMN ends_at TEXT, ADD COLUMN live BOOLEAN;
ALTER TABLE session_participants ADD COLUMN starts_at TEXT, ADD COLUMN ends_at TEXT, ADD COLUMN live BOOLEAN;

CREATE FUNCTION session_people_take_times() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT s.starts_at, s.ends_at, s.status <> 'cancelled' INTO NEW.starts_at, NEW.ends_at, NEW.live
    FROM sessions s WHERE s.id = NEW.session_id;
    RETURN NEW;
END;
$$;
CREATE TRIGGER session_leaders_times BEFORE INSERT OR UPDATE OF session_id ON session_leaders
    FOR EACH ROW EXECUTE FUNCTION session_people_take_times();
CREATE TRIGGER session_participants_times BEFORE INSERT OR UPDATE OF session_id ON session_participants
    FOR EACH ROW EXECUTE FUNCTION session_people_take_times();

CREATE FUNCTION session_times_to_people() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE session_leaders SET starts_at = NEW.starts_at, ends_at = NEW.ends_at, live = NEW.status <> 'cancelled'
        WHERE session_id = NEW.id;
    UPDATE session_participants SET starts_at = NEW.starts_at, ends_at = NEW.ends_at, live = NEW.status <> 'cancelled'
        WHERE session_id = NEW.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER sessions_times_to_people AFTER UPDATE OF starts_at, ends_at, status ON sessions
    FOR EACH ROW WHEN (OLD.starts_at IS DISTINCT FROM NEW.starts_at OR OLD.ends_at IS DISTINCT FROM NEW.ends_at
        OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION session_times_to_people();

UPDATE session_leaders l SET starts_at = s.starts_at, ends_at = s.ends_at, live = s.status <> 'cancelled'
    FROM sessions s WHERE s.id = l.session_id;
UPDATE session_participants p SET starts_at = s.starts_at, ends_at = s.ends_at, live = s.status <> 'cancelled'
    FROM sessions s WHERE s.id = p.session_id;

ALTER TABLE session_leaders ADD CONSTRAINT session_leaders_booked_once
    EXCLUDE USING gist (user_id WITH =, tstzrange(utc_instant(starts_at), utc_instant(ends_at)) WITH &&)
    WHERE (live AND starts_at IS NOT NULL);
ALTER TABLE session_participants ADD CONSTRAINT session_participants_booked_once
    EXCLUDE USING gist (patient_id WITH =, tstzrange(utc_instant(starts_at), utc_instant(ends_at)) WITH &&)
    WHERE (live AND starts_at IS NOT NULL);

-- Several app servers on one database keep their caches of reference data (organizations,
-- sites, rooms, service types, programs, tracks) true: every change to those tables moves one
-- revision, in the changing transaction, and a cached copy is used only while the revision it
-- was loaded at is still the database's.
CREATE TABLE reference_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    revision BIGINT NOT NULL
);
INSERT INTO reference_revision (id, revision) VALUES (1, 0);
CREATE FUNCTION reference_revision_moves() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE reference_revision SET revision = revision + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER organizations_revision AFTER INSERT OR UPDATE OR DELETE ON organizations
    FOR EACH STATEMENT EXECUTE FUNCTION reference_revision_moves();
CREATE TRIGGER sites_revision AFTER INSERT OR UPDATE OR DELETE ON sites
    FOR EACH STATEMENT EXECUTE FUNCTION reference_revision_moves();
CREATE TRIGGER rooms_revision AFTER INSERT OR UPDATE OR DELETE ON rooms
    FOR EACH STATEMENT EXECUTE FUNCTION reference_revision_moves();
CREATE TRIGGER service_types_revision AFTER INSERT OR UPDATE OR DELETE ON service_types
    FOR EACH STATEMENT EXECUTE FUNCTION reference_revision_moves();
CREATE TRIGGER programs_revision AFTER INSERT OR UPDATE OR DELETE ON programs
    FOR EACH STATEMENT EXECUTE FUNCTION reference_revision_moves();
CREATE TRIGGER tracks_revision AFTER INSERT OR UPDATE OR DELETE ON tracks
    FOR EACH STATEMENT EXECUTE FUNCTION reference_revision_moves();

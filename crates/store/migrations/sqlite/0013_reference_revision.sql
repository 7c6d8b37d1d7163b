-- Several app servers on one database keep their caches of reference data (organizations,
-- sites, rooms, service types, programs, tracks) true: every change to those tables moves one
-- revision, in the changing transaction, and a cached copy is used only while the revision it
-- was loaded at is still the database's.
CREATE TABLE reference_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
);
INSERT INTO reference_revision (id, revision) VALUES (1, 0);
CREATE TRIGGER organizations_insert_revision AFTER INSERT ON organizations
BEGIN
    UPDATE reference_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER organizations_update_revision AFTER UPDATE ON organizations
BEGIN
    UPDATE reference_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER organizations_delete_revision AFTER DELETE ON organizations
BEGIN
    UPDATE reference_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER sites_insert_revision AFTER INSERT ON sites
BEGIN
    UPDATE reference_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER sites_update_revision AFTER UPDATE ON sites
BEGIN
    UPDATE reference_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER sites_delete_revision AFTER DELETE ON sites
BEGIN
    UPDATE reference_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER rooms_insert_revision AFTER INSERT ON rooms
BEGIN
    UPDATE reference_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER rooms_update_revision AFTER UPDATE ON rooms
BEGIN
    UPDATE reference_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER rooms_delete_revision AFTER DELETE ON rooms
BEGIN
    UPDATE reference_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER service_types_insert_revision AFTER INSERT ON service_types
BEGIN
    UPDATE reference_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER service_types_update_revision AFTER UPDATE ON service_types
BEGIN
    UPDATE reference_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER service_types_delete_revision AFTER DELETE ON service_types
BEGIN
    UPDATE reference_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER programs_insert_revision AFTER INSERT ON programs
BEGIN
    UPDATE reference_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER programs_update_revision AFTER UPDATE ON programs
BEGIN
    UPDATE reference_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER programs_delete_revision AFTER DELETE ON programs
BEGIN
    UPDATE reference_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER tracks_insert_revision AFTER INSERT ON tracks
BEGIN
    UPDATE reference_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER tracks_update_revision AFTER UPDATE ON tracks
BEGIN
    UPDATE reference_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER tracks_delete_revision AFTER DELETE ON tracks
BEGIN
    UPDATE reference_revision SET revision = revision + 1 WHERE id = 1;
END;

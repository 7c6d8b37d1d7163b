-- No double booking on SQLite is held by the scheduling rules inside the one writer's
-- transaction (BEGIN IMMEDIATE: no other write can run between the check and the insert).
-- PostgreSQL, with several app servers, also holds it with exclusion constraints (its 0014).
SELECT 1;

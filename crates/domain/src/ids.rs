//! Identifiers: one newtype per kind of record, so a patient id cannot be passed as a site id.
//! (Feature-specific ids are declared next to their feature with the same `ids!` macro.)

ids!(OrganizationId, SiteId, ProgramId, UserId, SessionId, TokenId);

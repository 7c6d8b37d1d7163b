//! The application's use cases: role and scope checks, the audit event, the domain rule and the
//! store call, in one function each. API handlers and pages both call these.
pub mod documentation;
pub mod measurement;
pub mod optimizer;
pub mod patients;
pub mod programs;
pub mod schedule;

//! The OpenIOP domain: the clinic's language as types that parse, the clinical and access rules,
//! and the [`Store`] trait the storage crate implements. No web, no SQL.
#![forbid(unsafe_code)]

#[macro_use]
mod macros;

pub mod audit;
pub mod auth;
pub mod clock;
pub mod error;
pub mod ical;
pub mod ids;
pub mod measurement;
pub mod notes;
pub mod part2;
pub mod patients;
pub mod plans;
pub mod programs;
pub mod schedule;
pub mod store;
pub mod tenancy;
pub mod users;

pub use error::{DomainError, FieldError, Result};
pub use store::{Records, Store, UnitOfWork};

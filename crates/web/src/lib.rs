//! The OpenIOP web application: pages and JSON API over the domain and the store.
#![forbid(unsafe_code)]

pub mod api;
pub mod body;
pub mod cli;
pub mod config;
pub mod error;
pub mod metrics;
pub mod pages;
pub mod pdf;
pub mod session;
pub mod startup;
pub mod state;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

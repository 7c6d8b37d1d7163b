//! What every handler can reach.
use crate::config::Config;
use crate::telemetry::Metrics;
use openiop_domain::Store;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// The current instant (the configured clock in tests).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.config.clock.unwrap_or_else(chrono::Utc::now)
    }

    pub fn today(&self) -> chrono::NaiveDate {
        self.now().date_naive()
    }
}

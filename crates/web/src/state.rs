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

//! What every handler can reach: the application (its use cases are called with `&state`,
//! which derefs to [`App`]), the configuration and the metrics. No store: handlers only speak
//! HTTP and call use cases.
use crate::config::Config;
use crate::metrics::Metrics;
use openiop_app::App;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
}

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

//! What every handler shares.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::FromRef;
use axum_extra::extract::cookie::Key;
use common::kafka::Outbound;
use common::settings::SysSettings;
use common::store::OrderStore;

#[derive(Clone)]
pub struct AppState {
    pub sys: Arc<SysSettings>,
    pub store: Arc<dyn OrderStore>,
    pub outbound: Outbound,
    pub key: Key,
    /// Where the services write their logs, read for an order's flow panel.
    pub logs_dir: PathBuf,
}

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Self {
        state.key.clone()
    }
}

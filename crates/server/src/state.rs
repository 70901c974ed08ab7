//! Shared state handed to every handler.

use std::sync::Arc;

use punchcard_app::App;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::storage::Storage;

/// Cheap to clone: every handler gets one, sharing one allocation.
#[derive(Clone, Debug)]
pub struct AppState(Arc<StateParts>);

impl std::ops::Deref for AppState {
    type Target = StateParts;

    fn deref(&self) -> &StateParts {
        &self.0
    }
}

impl AppState {
    pub fn new(parts: StateParts) -> Self {
        Self(Arc::new(parts))
    }
}

/// What an [`AppState`] holds.
#[derive(Debug)]
pub struct StateParts {
    pub app: App,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    /// Public base URL without a trailing slash.
    pub base_url: Arc<str>,
    /// Uploaded files (local directory or S3).
    pub storage: Storage,
    /// Recently read allowed-IP lists, per merchant and source.
    pub allowed_ips: Arc<crate::api::allowed_ips::AllowedIpCache>,
    /// Outgoing mail (SMTP or files).
    pub mailer: crate::mail::Mailer,
    /// Rate limits and sign-in throttles (in process or Redis).
    pub throttle: crate::throttle::Throttle,
    /// Signs dashboard cookies; shared by every server of the instance.
    pub cookie_key: crate::dashboard::cookies::CookieKey,
}

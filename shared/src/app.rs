//! The state a function builds once at start-up and shares across invocations.

use crate::config::{Config, ConfigError};
use crate::pages::Pages;

pub struct App {
    pub config: Config,
    pub pages: Pages,
}

impl App {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            pages: Pages::new(),
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Config::from_env().map(Self::new)
    }

    /// Sets up logging and reads the configuration. A bad configuration stops the process with
    /// a message naming the variable: failing at start-up beats failing every request.
    pub fn start() -> Self {
        lambda_http::tracing::init_default_subscriber();
        match Self::from_env() {
            Ok(app) => app,
            Err(err) => {
                lambda_http::tracing::error!(%err, "configuration error");
                eprintln!("switchboard: configuration error: {err}");
                std::process::exit(1);
            }
        }
    }
}

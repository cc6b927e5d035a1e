//! The throttle capability: attempts counted per key and window, reserved atomically.

use super::*;

/// What a throttle counts failures against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThrottleKey {
    Account(String),
    Address(String),
    /// A user's sends (the send rate limit).
    Sends(String),
}

impl ThrottleKey {
    pub fn storage_key(&self) -> String {
        match self {
            ThrottleKey::Account(name) => format!("account#{name}"),
            ThrottleKey::Address(addr) => format!("address#{addr}"),
            ThrottleKey::Sends(name) => format!("sends#{name}"),
        }
    }
}

#[allow(async_fn_in_trait)]
pub trait ThrottleStore {
    /// Counts one more attempt for `key` in the window starting at `window_start`, unless
    /// `limit` are counted there already: `true` if it was counted, `false` if refused. The
    /// check and the count are one atomic step, so parallel attempts (from any number of
    /// function instances) never get more than `limit` between them. The counter may be
    /// forgotten after `expires_at`.
    async fn reserve_attempt(
        &self,
        key: &ThrottleKey,
        window_start: u64,
        expires_at: u64,
        limit: u32,
    ) -> StoreResult<bool>;
    /// Gives back one counted attempt (it succeeded, and only failures count), never going
    /// below zero.
    async fn release_attempt(&self, key: &ThrottleKey, window_start: u64) -> StoreResult<()>;
}

impl ThrottleStore for Store {
    async fn reserve_attempt(
        &self,
        key: &ThrottleKey,
        window_start: u64,
        expires_at: u64,
        limit: u32,
    ) -> StoreResult<bool> {
        delegate!(self, s => s.reserve_attempt(key, window_start, expires_at, limit))
    }
    async fn release_attempt(&self, key: &ThrottleKey, window_start: u64) -> StoreResult<()> {
        delegate!(self, s => s.release_attempt(key, window_start))
    }
}

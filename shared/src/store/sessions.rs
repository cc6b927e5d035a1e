//! The sessions capability: what a signed-in request reads, and sessions ended by
//! signing out.

use super::*;

/// What a signed-in request reads before anything else, in one request to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub account: Option<Account>,
    /// Whether the session was ended (signed out) on the server.
    pub revoked: bool,
    /// The portal's default spend cap, when it was asked for.
    pub default_spend_cap: Option<Option<Cost>>,
    /// Whether the portal's API is on, read with the default spend cap (one settings item).
    pub api_enabled: Option<bool>,
    /// The portal's groups, when they were asked for.
    pub groups: Option<crate::groups::Groups>,
}

/// What a signed-in request reads with the account, in the same read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extras {
    pub default_spend_cap: bool,
    pub groups: bool,
}

impl Extras {
    pub const NONE: Self = Self {
        default_spend_cap: false,
        groups: false,
    };
    pub const SPEND_CAP: Self = Self {
        default_spend_cap: true,
        groups: false,
    };
    pub const GROUPS: Self = Self {
        default_spend_cap: false,
        groups: true,
    };
    pub const SPEND_CAP_AND_GROUPS: Self = Self {
        default_spend_cap: true,
        groups: true,
    };
}

#[allow(async_fn_in_trait)]
pub trait SessionStore {
    /// Ends one session of `owner`'s: it no longer counts, though its cookie lives on until
    /// `expires_at` (after which the record may be forgotten).
    async fn revoke_session(
        &self,
        owner: &Username,
        session: &SessionId,
        expires_at: u64,
    ) -> StoreResult<()>;
    /// The account, whether `session` was revoked, and the `extras` asked for (the portal's
    /// default cap, its groups): every signed-in request's check, in one read.
    async fn signed_in(
        &self,
        owner: &Username,
        session: &SessionId,
        extras: Extras,
    ) -> StoreResult<SignedIn>;
}

impl SessionStore for Store {
    async fn revoke_session(
        &self,
        owner: &Username,
        session: &SessionId,
        expires_at: u64,
    ) -> StoreResult<()> {
        delegate!(self, s => s.revoke_session(owner, session, expires_at))
    }
    async fn signed_in(
        &self,
        owner: &Username,
        session: &SessionId,
        extras: Extras,
    ) -> StoreResult<SignedIn> {
        delegate!(self, s => s.signed_in(owner, session, extras))
    }
}

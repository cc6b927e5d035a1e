//! The invites capability: single-use sign-up links.

use super::*;

/// A single-use invitation to sign up. Only a hash of its token is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invite {
    pub token_hash: String,
    pub created_by: Username,
    pub created_at: u64,
    pub expires_at: u64,
}

#[allow(async_fn_in_trait)]
pub trait InviteStore {
    async fn create_invite(&self, invite: &Invite) -> StoreResult<()>;
    /// The invite if it exists and has not expired at `now`.
    async fn invite(&self, token_hash: &str, now: u64) -> StoreResult<Option<Invite>>;
}

impl InviteStore for Store {
    async fn create_invite(&self, invite: &Invite) -> StoreResult<()> {
        delegate!(self, s => s.create_invite(invite))
    }
    async fn invite(&self, token_hash: &str, now: u64) -> StoreResult<Option<Invite>> {
        delegate!(self, s => s.invite(token_hash, now))
    }
}

//! The identities capability: which account an identity provider's subject signs in to.
//! An account created by single sign-on gets its identity with it (`create_account` stores
//! both, atomically); an existing account is linked once, and never re-linked.

use super::*;
use crate::accounts::Identity;

#[allow(async_fn_in_trait)]
pub trait IdentityStore {
    /// The account this identity signs in to, if one does (consistently read: a link made a
    /// moment ago is found).
    async fn account_by_identity(&self, identity: &Identity) -> StoreResult<Option<Account>>;
    /// Links the account to the identity, atomically, and returns it as it now is.
    /// `NotFound` if there is no such account (or it is being deleted); `Conflict` if the
    /// account already has an identity or another account has this one.
    async fn link_identity(&self, username: &Username, identity: &Identity)
    -> StoreResult<Account>;
}

impl IdentityStore for Store {
    async fn account_by_identity(&self, identity: &Identity) -> StoreResult<Option<Account>> {
        delegate!(self, s => s.account_by_identity(identity))
    }
    async fn link_identity(
        &self,
        username: &Username,
        identity: &Identity,
    ) -> StoreResult<Account> {
        delegate!(self, s => s.link_identity(username, identity))
    }
}

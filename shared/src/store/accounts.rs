//! The accounts capability: who may sign in, created, read, listed, changed and deleted.

use super::*;

impl Page<Account> {
    /// A page from a query that asked for one item more than `limit`: the extra one only
    /// tells that there is a next page, which starts after the last item kept.
    pub(crate) fn of_accounts(mut items: Vec<Account>, limit: usize) -> Self {
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|a| a.username.as_str().to_string())
        } else {
            None
        };
        Self { items, next }
    }
}

// These traits are used only inside this workspace, on Lambda's one-request-at-a-time
// runtime, so the futures' `Send`-ness need not be part of their contract.
#[allow(async_fn_in_trait)]
pub trait AccountStore {
    /// Creates the account unless its username is taken (`Conflict`), atomically; with its
    /// identity's link when it has one (`Conflict` too if another account has that identity).
    async fn create_account(&self, account: &Account) -> StoreResult<()>;
    /// Creates the account and uses up the invite in one step: both happen or neither.
    async fn create_account_with_invite(
        &self,
        account: &Account,
        invite_hash: &str,
        now: u64,
    ) -> StoreResult<()>;
    async fn account(&self, username: &Username) -> StoreResult<Option<Account>>;
    /// Accounts in username order, `limit` at a time, starting after `after`.
    async fn list_accounts(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<Account>>;
    /// Applies `change` and returns the account as it now is; `NotFound` if there is none.
    async fn change_account(
        &self,
        username: &Username,
        change: &AccountChange,
    ) -> StoreResult<Account>;
    /// Marks the account as being deleted (a tombstone): from then on sessions and sign-ins
    /// refuse it, writes under it (conversations, turns, replies' usage, shares, imports) are
    /// refused with `NotFound`, and its name stays taken. Nothing if there is no account.
    async fn begin_account_deletion(&self, username: &Username) -> StoreResult<()>;
    /// Removes the account and everything it owns, share links included: begins the deletion
    /// if it was not begun, and finishes one that was interrupted (call it again after a
    /// failure). The name is free only once everything is gone.
    async fn delete_account(&self, username: &Username) -> StoreResult<()>;
}

impl AccountStore for Store {
    async fn create_account(&self, account: &Account) -> StoreResult<()> {
        delegate!(self, s => s.create_account(account))
    }
    async fn create_account_with_invite(
        &self,
        account: &Account,
        invite_hash: &str,
        now: u64,
    ) -> StoreResult<()> {
        delegate!(self, s => s.create_account_with_invite(account, invite_hash, now))
    }
    async fn account(&self, username: &Username) -> StoreResult<Option<Account>> {
        delegate!(self, s => s.account(username))
    }
    async fn list_accounts(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<Account>> {
        delegate!(self, s => s.list_accounts(after, limit))
    }
    async fn change_account(
        &self,
        username: &Username,
        change: &AccountChange,
    ) -> StoreResult<Account> {
        delegate!(self, s => s.change_account(username, change))
    }
    async fn begin_account_deletion(&self, username: &Username) -> StoreResult<()> {
        delegate!(self, s => s.begin_account_deletion(username))
    }
    async fn delete_account(&self, username: &Username) -> StoreResult<()> {
        delegate!(self, s => s.delete_account(username))
    }
}

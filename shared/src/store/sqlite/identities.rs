//! Identities: an account's provider issuer and subject are columns of its row, unique
//! together, so a link goes with its account.

use super::*;

impl IdentityStore for SqliteStore {
    async fn account_by_identity(&self, identity: &Identity) -> StoreResult<Option<Account>> {
        self.with(|conn| {
            conn.query_row(
                &format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE issuer = ?1 AND subject = ?2"
                ),
                [identity.issuer(), identity.subject()],
                account_from_row,
            )
            .optional()
            .map_err(backend)?
            .map(AccountRecord::into_account)
            .transpose()
        })
    }

    async fn link_identity(
        &self,
        username: &Username,
        identity: &Identity,
    ) -> StoreResult<Account> {
        self.with(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let linked: Option<(Option<String>, bool)> = tx
                .query_row(
                    "SELECT issuer, deleting FROM accounts WHERE username = ?1",
                    [username.as_str()],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(backend)?;
            match linked {
                None | Some((_, true)) => return Err(StoreError::NotFound),
                Some((Some(_), false)) => return Err(StoreError::Conflict),
                Some((None, false)) => {}
            }
            let account = tx
                .query_row(
                    &format!(
                        "UPDATE accounts SET issuer = ?2, subject = ?3 WHERE username = ?1 \
                         RETURNING {ACCOUNT_COLUMNS}"
                    ),
                    params![username.as_str(), identity.issuer(), identity.subject()],
                    account_from_row,
                )
                // Another account has this identity: the unique index says so.
                .map_err(backend)?;
            tx.commit().map_err(backend)?;
            account.into_account()
        })
    }
}

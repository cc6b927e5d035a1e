//! Accounts: creation, reads, changes, and deletion (one transaction).

use super::*;

impl AccountStore for SqliteStore {
    async fn create_account(&self, account: &Account) -> StoreResult<()> {
        self.with(|conn| insert_account(conn, account))
    }

    async fn create_account_with_invite(
        &self,
        account: &Account,
        invite_hash: &str,
        now: u64,
    ) -> StoreResult<()> {
        self.with(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let used = tx
                .execute(
                    "DELETE FROM invites WHERE token_hash = ?1 AND expires_at > ?2",
                    params![invite_hash, now as i64],
                )
                .map_err(backend)?;
            if used == 0 {
                return Err(StoreError::InviteUnusable);
            }
            insert_account(&tx, account)?;
            tx.commit().map_err(backend)
        })
    }

    async fn account(&self, username: &Username) -> StoreResult<Option<Account>> {
        self.with(|conn| read_account(conn, username))
    }

    async fn list_accounts(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<Account>> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE username > ?1 \
                     ORDER BY username LIMIT ?2"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(
                    params![after.unwrap_or(""), (limit + 1) as i64],
                    account_from_row,
                )
                .map_err(backend)?;
            let mut items = Vec::new();
            for row in rows {
                items.push(row.map_err(backend)?.into_account()?);
            }
            Ok(Page::of_accounts(items, limit))
        })
    }

    async fn change_account(
        &self,
        username: &Username,
        change: &AccountChange,
    ) -> StoreResult<Account> {
        let (assignments, value): (&str, Option<Value>) = match change {
            AccountChange::Password(digest) => (
                "password = ?2, session_epoch = session_epoch + 1",
                Some(Value::Text(digest.as_str().to_string())),
            ),
            AccountChange::Role(role) => ("role = ?2", Some(Value::Text(role.as_str().into()))),
            AccountChange::SpendCap(cap) => (
                "spend_cap = ?2",
                Some(cap.map_or(Value::Null, |c| Value::Integer(c.nanos() as i64))),
            ),
            AccountChange::Disabled(true) => {
                ("disabled = 1, session_epoch = session_epoch + 1", None)
            }
            AccountChange::Disabled(false) => ("disabled = 0", None),
            AccountChange::SignOutEverywhere => ("session_epoch = session_epoch + 1", None),
            AccountChange::Groups(groups) => (
                "groups = ?2",
                Some(groups_column(groups).map_or(Value::Null, Value::Text)),
            ),
            // One statement each, so two administrators' changes both count.
            AccountChange::JoinGroup(group) => (
                "member_of = CASE \
                   WHEN EXISTS (SELECT 1 FROM json_each(COALESCE(member_of, '[]')) \
                                WHERE value = ?2) THEN member_of \
                   ELSE json_insert(COALESCE(member_of, '[]'), '$[#]', ?2) END",
                Some(Value::Text(group.as_str().to_string())),
            ),
            AccountChange::LeaveGroup(group) => (
                "member_of = (SELECT CASE WHEN count(*) = 0 THEN NULL \
                   ELSE json_group_array(value) END \
                   FROM json_each(COALESCE(member_of, '[]')) WHERE value != ?2)",
                Some(Value::Text(group.as_str().to_string())),
            ),
        };
        self.with(|conn| {
            let sql = format!(
                "UPDATE accounts SET {assignments} WHERE username = ?1 RETURNING {ACCOUNT_COLUMNS}"
            );
            let result = match &value {
                Some(v) => conn.query_row(&sql, params![username.as_str(), v], account_from_row),
                None => conn.query_row(&sql, params![username.as_str()], account_from_row),
            };
            result
                .optional()
                .map_err(backend)?
                .ok_or(StoreError::NotFound)?
                .into_account()
        })
    }

    async fn begin_account_deletion(&self, username: &Username) -> StoreResult<()> {
        self.with(|conn| {
            conn.execute(
                "UPDATE accounts SET deleting = 1 WHERE username = ?1",
                [username.as_str()],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    // One transaction: an interrupted deletion leaves everything as it was (or, after
    // `begin_account_deletion`, the tombstone, which this finishes).
    async fn delete_account(&self, username: &Username) -> StoreResult<()> {
        self.with(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            for table in [
                "messages",
                "conversations",
                "usage",
                "shares",
                "revoked_sessions",
                "api_keys",
                "folders",
            ] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE owner = ?1"),
                    [username.as_str()],
                )
                .map_err(backend)?;
            }
            tx.execute(
                "DELETE FROM accounts WHERE username = ?1",
                [username.as_str()],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)
        })
    }
}

/// The account, if there is one by that name.
pub(super) fn read_account(conn: &Connection, username: &Username) -> StoreResult<Option<Account>> {
    conn.query_row(
        &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE username = ?1"),
        [username.as_str()],
        account_from_row,
    )
    .optional()
    .map_err(backend)?
    .map(AccountRecord::into_account)
    .transpose()
}

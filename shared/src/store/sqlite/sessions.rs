//! Sessions: what a signed-in request reads, and sessions ended by signing out.

use super::*;

impl SessionStore for SqliteStore {
    async fn revoke_session(
        &self,
        owner: &Username,
        session: &SessionId,
        expires_at: u64,
    ) -> StoreResult<()> {
        self.with(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            // Ended sessions are forgotten once their cookies have expired anyway.
            tx.execute(
                "DELETE FROM revoked_sessions WHERE expires_at < ?1",
                [crate::session::now() as i64],
            )
            .map_err(backend)?;
            tx.execute(
                "INSERT OR REPLACE INTO revoked_sessions (owner, session, expires_at) \
                 VALUES (?1, ?2, ?3)",
                params![owner.as_str(), session.as_str(), expires_at as i64],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)
        })
    }

    async fn signed_in(
        &self,
        owner: &Username,
        session: &SessionId,
        extras: Extras,
    ) -> StoreResult<SignedIn> {
        self.with(|conn| {
            let account = super::accounts::read_account(conn, owner)?;
            let revoked = conn
                .query_row(
                    "SELECT 1 FROM revoked_sessions WHERE owner = ?1 AND session = ?2",
                    params![owner.as_str(), session.as_str()],
                    |_| Ok(()),
                )
                .optional()
                .map_err(backend)?
                .is_some();
            let default_spend_cap = if extras.default_spend_cap {
                Some(read_default_cap(conn)?)
            } else {
                None
            };
            let api_enabled = if extras.default_spend_cap {
                Some(super::usage::read_api_enabled(conn)?)
            } else {
                None
            };
            let groups = if extras.groups {
                Some(super::groups::read_groups(conn)?)
            } else {
                None
            };
            Ok(SignedIn {
                account,
                revoked,
                default_spend_cap,
                api_enabled,
                groups,
            })
        })
    }
}
